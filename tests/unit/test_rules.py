from __future__ import annotations

import ibis
import pytest

from tierkit.engine.rules import compile_condition
from tierkit.errors import PolicyError
from tierkit.policy.expr import RuleSyntaxError, parse_rule


def evaluate(rule: str, **row: object) -> object:
    t = ibis.memtable({k: [v] for k, v in row.items()})
    expr = compile_condition(rule, {c: t[c] for c in t.columns}, "test")
    return ibis.duckdb.connect().to_pyarrow(t.select(x=expr))["x"][0].as_py()


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("a > 5 and b < 2", True),
        ("not (a > 5) or b == 1", True),
        ("a between 6 and 6", True),
        ("a not between 1 and 2", True),
        ("c in ('x', 'y')", True),
        ("c not in ['x']", False),
        ("a * 2 + b - 1 == 12", True),
        ("a % 4 == 2 and -a < 0", True),
        ("coalesce(d, 0) == 0 and d is null", True),
        ("abs(0 - a) >= 6.0", True),
        ("greatest(a, b, 10) == 10 and least(a, b) == 1", True),
        ("d > 1", False),  # a comparison with a missing value does not match
        ("a / (b - 1) is null", True),  # division by zero is missing, not inf
        ("a % 0 is null and a / 0 is null", True),  # even by a constant zero
        ("if(a > 5, b, 0) == 1 and if(d > 1, 1, 2) == 2", True),
        ("a == avg(a) and a == percentile(a, 0.8) and total(b) == 1", True),  # one row: its own values
        ("month(date('2024-06-30')) == 6 and days_between(date('2024-06-01'), date('2024-06-30')) == 29", True),
    ],
)
def test_rules_evaluate_with_sql_semantics(rule: str, expected: bool) -> None:
    assert evaluate(rule, a=6, b=1, c="x", d=None) is expected


@pytest.mark.parametrize(
    ("rule", "column", "fragment"),
    [
        ("a >", 4, "expected a value"),
        ("a = 1", 3, "use '=='"),
        ("a > 1 b", 7, "unexpected token"),
        ("a ! 1", 3, "unexpected character"),
        ("sqrt(a)", 1, "unknown function"),
        ("", 1, "empty rule"),
    ],
)
def test_syntax_errors_point_at_the_token(rule: str, column: int, fragment: str) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(rule)
    assert info.value.pos + 1 == column
    assert fragment in str(info.value)


def test_unknown_name_suggests_the_nearest() -> None:
    with pytest.raises(PolicyError, match=r"unknown name 'spend12m' at column 1 .*did you mean 'spend_12m'"):
        evaluate("spend12m > 1", spend_12m=5)


def test_ill_typed_rules_are_policy_errors() -> None:
    with pytest.raises(PolicyError, match=r"cannot apply '>' at column 3 in 'a > 'x''"):
        evaluate("a > 'x'", a=1)


def test_in_does_not_mix_text_and_numbers() -> None:
    with pytest.raises(PolicyError, match="'in' at column 3 in 'a in \\('1', '2'\\)' mixes text and numbers"):
        evaluate("a in ('1', '2')", a=1)


def test_a_value_is_not_a_condition() -> None:
    with pytest.raises(PolicyError, match="is not a condition"):
        evaluate("a + 1", a=1)


def test_names_lists_what_a_rule_reads() -> None:
    assert parse_rule("a > 1 and (b in (c, 2) or coalesce(d, e) between f and 3)").names() == set("abcdef")
    assert parse_rule("a > avg(b) and days_until_birthday(c) < percentile(d, 0.5)").names() == set("abcd")


def test_an_unknown_function_lists_the_known_ones() -> None:
    with pytest.raises(RuleSyntaxError, match=r"unknown function 'mean' \(known: abs, avg, birthday_this_month, "):
        parse_rule("mean(a) > 1")


def test_no_python_evaluation() -> None:
    with pytest.raises(RuleSyntaxError):
        parse_rule("__import__('os').system('true')")
