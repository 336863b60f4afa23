"""The functions a rule may call, and what a call needs of its arguments that no data can change.

Row functions, population statistics over every graded customer (`tierkit.engine.population`)
and calendar functions (`tierkit.engine.dates`). What needs no data is checked when the rule is
parsed, so that `tierkit check` points at the token: a percentile's share is a number from 0 to
1, `date()` takes a text constant, and population statistics do not nest (engines cannot nest
window functions).
"""

from __future__ import annotations

import re
from datetime import date as _date
from decimal import Decimal

from tierkit.policy.expr_tokens import Node, RuleSyntaxError, Token

ROW_FUNCTIONS = {"coalesce": (1, 99), "abs": (1, 1), "least": (2, 99), "greatest": (2, 99), "if": (3, 3)}
# one value over every graded customer (tierkit.engine.population)
POPULATION_FUNCTIONS = {"avg": (1, 1), "median": (1, 1), "percentile": (2, 2), "total": (1, 1)}
# the calendar, relative to the as-of date where it says so (tierkit.engine.dates)
CALENDAR_FUNCTIONS = {"year": (1, 1), "month": (1, 1), "day": (1, 1), "date": (1, 1), "days_between": (2, 2)}
CALENDAR_FUNCTIONS |= {"years_between": (2, 2), "birthday_this_month": (1, 1), "days_until_birthday": (1, 1)}
FUNCTIONS = {**ROW_FUNCTIONS, **POPULATION_FUNCTIONS, **CALENDAR_FUNCTIONS}  # name -> (fewest, most) arguments
POPULATION = frozenset(POPULATION_FUNCTIONS)


def check_known(source: str, name: Token) -> None:
    """A call of a function the language has."""
    if name.text not in FUNCTIONS:
        raise RuleSyntaxError(
            source,
            name.pos,
            f"unknown function '{name.text}' (known: {', '.join(sorted(FUNCTIONS))})",
        )


def check_call(source: str, name: Token, args: list[Node]) -> None:
    """As many arguments as the function takes, and what it needs of them that no data can change."""
    low, high = FUNCTIONS[name.text]
    if not low <= len(args) <= high:
        count = f"{low}" if low == high else f"{low} to {high}"
        raise RuleSyntaxError(source, name.pos, f"{name.text}() takes {count} argument{'s' * (high > 1)}")
    if name.text in POPULATION:
        inner = next((n for n in _calls(args[0]) if n.args[0] in POPULATION), None)
        if inner is not None:
            raise RuleSyntaxError(
                source, inner.pos, f"{inner.args[0]}() inside {name.text}(): population statistics do not nest"
            )
    if name.text == "percentile":
        share = args[1]
        value = share.args[0] if share.op == "lit" else None
        if isinstance(value, bool) or not isinstance(value, int | Decimal) or not 0 <= value <= 1:
            raise RuleSyntaxError(source, share.pos, "percentile(x, q) needs q a number from 0 to 1, such as 0.8")
    if name.text == "date":
        text = args[0].args[0] if args[0].op == "lit" else None
        if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise RuleSyntaxError(source, args[0].pos, "date() takes a text like '2024-06-30'")
        try:
            _date.fromisoformat(text)
        except ValueError:
            raise RuleSyntaxError(source, args[0].pos, f"'{text}' is not a date") from None


def _calls(node: Node) -> list[Node]:
    """Every call node in a tree, the root first."""
    found = [node] if node.op == "call" else []
    for arg in node.args:
        for item in arg if isinstance(arg, tuple) else (arg,):
            if isinstance(item, Node):
                found += _calls(item)
    return found
