"""Generated rules of tierkit's rule language with their values, worked out here by hand.

`numbers()` and `conditions()` draw a rule as text together with a Python function that
evaluates it on one row the way SQL does: a missing value (None) makes a comparison or an
arithmetic result missing, `and`/`or` use three-valued logic, `x / 0` and `x % 0` are missing,
`%` keeps the sign of the dividend, `least`/`greatest` skip missing values, `if` takes a
missing condition as false. Constants are integers and quarters (0.25, 1.5): exact in binary
and decimal alike, so the engine's DECIMAL literals and this module's floats agree to the bit.
Sizes are bounded so no product leaves 64-bit integers (overflow has its own test).

`hostile()` draws rule text that need not parse: tokens of the grammar in any order, deep
nesting, unknown functions and names, huge numbers, NULs and text of any script.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

Row = dict[str, Any]
Rule = tuple[str, Callable[[Row], Any]]
# the tiny table every generated rule runs on: integers, a float, a text and missing values
TABLE: dict[str, list[Any]] = {
    "a": [6, -7, 0, 1000, 3],
    "b": [0.5, -2.25, 0.0, None, 12.75],
    "d": [None, 2, -3, 0, None],
    "c": ["x", "客户", None, "it's", ""],
}
TEXTS = ["x", "客户", "it's", "", "y", "VIP客户"]


def sql_and(x: Any, y: Any) -> Any:
    if x is False or y is False:
        return False
    return None if x is None or y is None else True


def sql_or(x: Any, y: Any) -> Any:
    if x is True or y is True:
        return True
    return None if x is None or y is None else False


def quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _arith(op: str, x: Any, y: Any) -> Any:
    if x is None or y is None:
        return None
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        return None if y == 0 else float(x) / float(y)
    if y == 0:
        return None
    return int(math.copysign(abs(x) % abs(y), x))  # SQL's %: the sign of the dividend


def _compare(op: str, x: Any, y: Any) -> Any:
    if x is None or y is None:
        return None
    return {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _present(values: list[Any]) -> list[Any]:
    return [v for v in values if v is not None]


LITERALS = st.one_of(st.integers(-1000, 1000), st.integers(-40, 40).map(lambda q: q / 4))


def literal(value: float | int) -> Rule:
    text = str(value) if isinstance(value, int) else repr(value)
    return (text if value >= 0 else f"({text})"), lambda row: value


def _integers(depth: int) -> st.SearchStrategy[Rule]:
    """Integer-valued rules: columns a and d, integer constants, + - * of them (for %)."""
    leaf = st.one_of(
        st.sampled_from(["a", "d"]).map(lambda n: (n, lambda row, n=n: row[n])),
        st.integers(-50, 50).map(literal),
    )
    if depth <= 0:
        return leaf
    return st.one_of(
        leaf, st.builds(_binary, st.sampled_from(["+", "-", "%"]), _integers(depth - 1), _integers(depth - 1))
    )


def _binary(op: str, left: Rule, right: Rule) -> Rule:
    return f"({left[0]} {op} {right[0]})", lambda row: _arith(op, left[1](row), right[1](row))


def _call(name: str, args: list[Rule]) -> Rule:
    text = f"{name}({', '.join(a[0] for a in args)})"

    def value(row: Row) -> Any:
        got = [a[1](row) for a in args]
        if name == "coalesce":
            return next((v for v in got if v is not None), None)
        if name == "abs":
            return None if got[0] is None else abs(got[0])
        present = _present(got)
        if not present:
            return None
        return min(present) if name == "least" else max(present)

    return text, value


def numbers(depth: int = 3) -> st.SearchStrategy[Rule]:
    leaf = st.one_of(
        st.sampled_from(["a", "b", "d"]).map(lambda n: (n, lambda row, n=n: row[n])),
        LITERALS.map(literal),
        _integers(1),
    )
    if depth <= 0:
        return leaf
    inner = numbers(depth - 1)
    return st.one_of(
        leaf,
        st.builds(_binary, st.sampled_from(["+", "-", "*", "/"]), inner, inner),
        inner.map(lambda r: (f"-{r[0]}", lambda row: None if r[1](row) is None else -r[1](row))),
        st.builds(_call, st.sampled_from(["coalesce", "least", "greatest"]), st.lists(inner, min_size=2, max_size=3)),
        inner.map(lambda r: _call("abs", [r])),
        st.builds(_if, conditions(depth - 1), inner, inner),
    )


def _if(cond: Rule, yes: Rule, no: Rule) -> Rule:
    return f"if({cond[0]}, {yes[0]}, {no[0]})", lambda row: yes[1](row) if cond[1](row) is True else no[1](row)


def _in(left: Rule, items: list[Rule], negate: bool) -> Rule:
    def value(row: Row) -> Any:
        x = left[1](row)
        got = [i[1](row) for i in items]
        found: Any = None if x is None else (True if x in got else (None if None in got else False))
        return (None if found is None else not found) if negate else found

    word = "not in" if negate else "in"
    return f"{left[0]} {word} ({', '.join(i[0] for i in items)})", value


def conditions(depth: int = 3) -> st.SearchStrategy[Rule]:
    num = numbers(max(0, depth - 1))
    text_item = st.sampled_from(TEXTS).map(lambda t: (quoted(t), lambda row, t=t: t))
    column_c: Rule = ("c", lambda row: row["c"])
    leaf = st.one_of(
        st.builds(
            lambda op, x, y: (f"{x[0]} {op} {y[0]}", lambda row: _compare(op, x[1](row), y[1](row))),
            st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
            num,
            num,
        ),
        st.builds(
            lambda op, t: (f"c {op} {t[0]}", lambda row: _compare(op, row["c"], t[1](row))),
            st.sampled_from(["==", "!="]),
            text_item,
        ),
        st.builds(_in, st.just(column_c), st.lists(text_item, min_size=1, max_size=4), st.booleans()),
        st.builds(_in, num, st.lists(LITERALS.map(literal), min_size=1, max_size=4), st.booleans()),
        st.builds(
            lambda x, lo, hi: (
                f"{x[0]} between {lo[0]} and {hi[0]}",
                lambda row: sql_and(_compare(">=", x[1](row), lo[1](row)), _compare("<=", x[1](row), hi[1](row))),
            ),
            num,
            num,
            num,
        ),
        st.builds(
            lambda x, neg: (f"{x[0]} is {'not ' if neg else ''}null", lambda row: (x[1](row) is None) != neg),
            num,
            st.booleans(),
        ),
        st.sampled_from([("true", lambda row: True), ("false", lambda row: False)]),
    )
    if depth <= 0:
        return leaf
    inner = conditions(depth - 1)
    return st.one_of(
        leaf,
        st.builds(lambda x, y: (f"({x[0]} and {y[0]})", lambda row: sql_and(x[1](row), y[1](row))), inner, inner),
        st.builds(lambda x, y: (f"({x[0]} or {y[0]})", lambda row: sql_or(x[1](row), y[1](row))), inner, inner),
        inner.map(lambda x: (f"not ({x[0]})", lambda row: None if x[1](row) is None else not x[1](row))),
        st.lists(inner, min_size=3, max_size=30).map(  # a long chain without parentheses
            lambda xs: (" or ".join(f"({x[0]})" for x in xs), lambda row: _fold(sql_or, [x[1](row) for x in xs]))
        ),
    )


def _fold(op: Callable[[Any, Any], Any], values: list[Any]) -> Any:
    result = values[0]
    for value in values[1:]:
        result = op(result, value)
    return result


# fmt: off
TOKENS = [
    "a", "b", "c", "d", "zz", "`医院 级别`", "``", "and", "or", "not", "in", "between", "is", "null", "true",
    "false", "(", ")", "[", "]", ",", "==", "=", "!=", "<", ">=", "+", "-", "*", "/", "%", "'x'", '"y"', "'",
    "coalesce(", "avg(", "percentile(", "date('2024-02-30')", "date(", "sqrt(", "year(", "if(", "least(",
    "99999999999999999999999999", "1e999", "0.0000001", "-9223372036854775808", "\x00", "'\x00'", "\u202e",
    "客户", "𝔸", "\\", "`", "'it\\'s'",
]
# fmt: on


@st.composite
def hostile(draw: st.DrawFn) -> str:
    """Rule text that need not parse."""
    kind = draw(st.sampled_from(["soup", "deep", "long", "text"]))
    if kind == "soup":
        return " ".join(draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=30)))
    if kind == "deep":
        n = draw(st.integers(40, 3000))
        opener, closer = draw(
            st.sampled_from([("(", ")"), ("not (", ")"), ("-(", ")"), ("abs(", ")"), ("coalesce(", ", 1)")])
        )
        return opener * n + "a" + closer * draw(st.integers(0, n)) + " > 0"
    if kind == "long":
        n = draw(st.integers(50, 3000))
        op = draw(st.sampled_from([" or ", " and ", " + ", " * ", " - "]))
        term = "a > 1" if op.strip() in ("or", "and") else "a"
        return op.join([term] * n) + ("" if op.strip() in ("or", "and") else " > 0")
    return draw(st.text(max_size=60))
