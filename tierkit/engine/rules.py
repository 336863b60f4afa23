"""Compile rule ASTs to Ibis expressions, so one rule runs unchanged on every engine.

SQL semantics apply: a comparison with a missing value is unknown, and an unknown condition
does not match (a tier rule falls through to the next one). `coalesce(x, 0)` says otherwise.

A rule reads the names its caller makes visible (the columns of one table), `as_of` when the
caller knows the as-of date, population statistics over that table (`engine.population`) where
the table is the graded customers, and calendar functions (`engine.dates`).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from tierkit.engine.dates import Calendar
from tierkit.engine.population import statistic
from tierkit.errors import PolicyError, did_you_mean
from tierkit.policy.expr import POPULATION, Node, RuleSyntaxError, parse_rule
from tierkit.policy.expr_tokens import quoted

_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}


def _literal(value: object) -> ir.Value:
    if isinstance(value, Decimal):
        # Rule constants compare against money (decimal) and rates (double); a float
        # literal keeps both engines on the same IEEE comparison.
        return ibis.literal(float(value))
    if value is None:
        return ibis.null()
    return ibis.literal(value)


class RuleCompiler:
    """Turns rule text into Ibis values over the names a caller makes visible.

    `as_of` is the as-of date: the name `as_of` and the calendar functions that count from it.
    `population` says whether the names are one row per graded customer, so that `avg(x)` and
    the like mean "over all customers"; a metric's `where:` filters order rows, where they would
    mean something else (and engines allow no window in a filter), so there it is False. When not
    given it is inferred from `where` (a key ending in `.where` is a row filter).
    """

    def __init__(
        self,
        names: Mapping[str, ir.Value],
        where: str,
        as_of: dt.date | None = None,
        population: bool | None = None,
    ) -> None:
        self.names = names
        self.where = where  # e.g. "policy.yaml: tiers[0].when", for error messages
        self.as_of = as_of
        self.population = not where.endswith(".where") if population is None else population

    def compile(self, source: str) -> ir.Value:
        try:
            node = parse_rule(source)
        except RuleSyntaxError as err:
            raise PolicyError(f"{self.where}: {err}") from err
        return self.node(node, source)

    def node(self, node: Node, source: str) -> Any:
        op, args = node.op, node.args
        if op == "lit":
            return _literal(args[0])
        if op == "name":
            name = str(args[0])
            if name == "as_of" and name not in self.names and self.as_of is not None:
                return ibis.literal(self.as_of)
            if name not in self.names:
                raise PolicyError(
                    f"{self.where}: unknown name '{quoted(name, 0)}' at column {node.pos + 1} in "
                    f"'{quoted(source, node.pos)}'{did_you_mean(name, self.names)}"
                )
            return self.names[name]
        try:
            return self.combine(node, source)
        except PolicyError:
            raise
        except Exception as exc:  # Ibis refuses ill-typed operations, e.g. comparing a number with text
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            what = node.args[0] if node.op in ("cmp", "arith", "call") else node.op
            raise PolicyError(
                f"{self.where}: cannot apply '{what}' at column {node.pos + 1} "
                f"in '{quoted(source, node.pos)}': {detail}"
            ) from exc

    def combine(self, node: Node, source: str) -> Any:
        op, args = node.op, node.args
        sub: list[Any] = [self.node(a, source) if isinstance(a, Node) else a for a in args]
        if op == "neg":
            return -sub[0]
        if op == "not":
            return ~sub[0]
        if op == "and":
            return sub[0] & sub[1]
        if op == "or":
            return sub[0] | sub[1]
        if op == "cmp":
            return _CMP[str(sub[0])](sub[1], sub[2])
        if op == "arith":
            if sub[0] == "/":  # always a float (engines type decimal / int differently); x / 0 is missing
                return sub[1].cast("float64") / sub[2].cast("float64").nullif(0)
            if sub[0] == "%":  # NULLIF, not CASE: engines fold a constant `x % 0` before any CASE
                return sub[1] % sub[2].nullif(0)
            return _ARITH[str(sub[0])](sub[1], sub[2])
        if op == "isnull":
            return sub[0].isnull()
        if op == "between":
            return sub[0].between(sub[1], sub[2])
        if op == "in":
            items = [self.node(item, source) for item in args[1]]  # type: ignore[union-attr, attr-defined]
            left_is_text = sub[0].type().is_string()
            for item in items:
                if not item.type().is_null() and item.type().is_string() != left_is_text:
                    raise PolicyError(
                        f"{self.where}: 'in' at column {node.pos + 1} in '{quoted(source, node.pos)}' "
                        "mixes text and numbers"
                    )
            return sub[0].isin(items)
        if op == "call":
            return self.call(node, source)
        raise PolicyError(f"{self.where}: cannot compile '{op}' in '{quoted(source, node.pos)}'")  # pragma: no cover

    def call(self, node: Node, source: str) -> Any:
        fn, nodes = str(node.args[0]), list(node.args[1])  # type: ignore[call-overload]
        raw = [n.args[0] if n.op == "lit" else None for n in nodes]
        at = f"{self.where}: {fn}() at column {node.pos + 1} in '{quoted(source, node.pos)}'"
        calendar = Calendar(self.as_of, at)
        if fn == "date":  # a constant: no argument to compile
            return calendar.call(fn, [], raw)
        call_args = [self.node(a, source) for a in nodes]
        if fn in POPULATION:
            if not self.population:
                raise PolicyError(
                    f"{self.where}: {fn}() at column {node.pos + 1} in '{quoted(source, node.pos)}' is a "
                    "statistic over all customers; a metric's where filters order rows (use it in expr, tiers or tags)"
                )
            share = float(raw[1]) if fn == "percentile" else None  # type: ignore[arg-type]
            return statistic(fn, call_args[0], share, at)
        if fn == "coalesce":
            return ibis.coalesce(*call_args)
        if fn == "abs":
            return call_args[0].abs()
        if fn == "least":
            return ibis.least(*call_args)
        if fn == "greatest":
            return ibis.greatest(*call_args)
        if fn == "if":
            return ibis.ifelse(call_args[0].fill_null(False), call_args[1], call_args[2])
        return calendar.call(fn, call_args, raw)


def compile_condition(
    source: str,
    names: Mapping[str, ir.Value],
    where: str,
    as_of: dt.date | None = None,
    population: bool | None = None,
) -> ir.BooleanValue:
    """A boolean that is never NULL: an unknown condition counts as false."""
    value = RuleCompiler(names, where, as_of, population).compile(source)
    if not value.type().is_boolean():
        raise PolicyError(f"{where}: '{quoted(source, 0)}' is not a condition (it gives a {value.type()})")
    return value.fill_null(False)  # type: ignore[no-any-return]
