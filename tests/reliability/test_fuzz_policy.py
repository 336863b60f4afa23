"""Bad input, fuzzed (issue 15, part 6): the policy loader and the rule language.

Generated rules of the grammar (fuzz_rules) compile and give, on a tiny table, the values worked
out in Python by SQL's rules; rule text of any kind, and presets spoiled by edits or as bytes
(fuzz_policies), either check as ok or fail with one line of PolicyError saying where (the
file and line, or the rule's column), never another exception or a RecursionError.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.reliability.fuzz_outcomes import bounded, one_line
from tests.reliability.fuzz_policies import spoiled_policy, spoiled_text
from tests.reliability.fuzz_rules import TABLE, Rule, conditions, hostile, numbers
from tierkit.app.policies import check
from tierkit.backends.duckdb import overflow_named
from tierkit.cli.app import app
from tierkit.engine.rules import RuleCompiler
from tierkit.errors import PolicyError
from tierkit.policy.expr import MAX_HEIGHT, RuleSyntaxError, parse_rule
from tierkit.policy.expr_tokens import SHOWN

ARROW = pa.table(
    {
        "a": pa.array(TABLE["a"], pa.int64()),
        "b": pa.array(TABLE["b"], pa.float64()),
        "d": pa.array(TABLE["d"], pa.int64()),
        "c": pa.array(TABLE["c"], pa.string()),
    }
)
ROWS = ARROW.to_pylist()


@pytest.fixture(scope="module")
def duck() -> Any:
    return ibis.duckdb.connect()


def evaluated(con: Any, rule: str) -> list[Any]:
    t = ibis.memtable(ARROW)
    value = RuleCompiler({c: t[c] for c in t.columns}, "fuzz").compile(rule)
    return list(con.to_pyarrow(t.select(x=value))["x"].to_pylist())


def same(got: Any, expected: Any) -> bool:
    """Booleans and missing values exactly; numbers to the last bits (a float through DuckDB)."""
    if expected is None or isinstance(expected, bool):
        return got is expected
    return got is not None and math.isclose(float(got), float(expected), rel_tol=1e-12, abs_tol=1e-12)


@bounded(60)
@given(rule=conditions())
@example(
    rule=(
        " or ".join(["(a > 1000)"] * 400) + " or (c == 'x')",
        lambda row: None if row["c"] is None else row["c"] == "x",
    )
)
def test_a_generated_condition_gives_what_sql_gives(duck: Any, rule: Rule) -> None:
    assert_as_sql_gives(duck, rule)


def assert_as_sql_gives(duck: Any, rule: Rule) -> None:
    """The rule evaluated by tierkit on the five rows equals the hand-written oracle, row by row."""
    text, oracle = rule
    got = evaluated(duck, text)
    expected = [oracle(row) for row in ROWS]
    assert all(same(g, e) for g, e in zip(got, expected, strict=True)), f"{text}: {got} != {expected}"


@bounded(40)
@given(rule=numbers())
def test_a_generated_number_gives_what_sql_gives(duck: Any, rule: Rule) -> None:
    assert_as_sql_gives(duck, rule)


@bounded(150)
@given(text=hostile())
@example(text="a" + " + a" * 3000 + " > 0")
@example(text="(" * 3000 + "a" + ")" * 3000 + " > 0")
@example(text="das_$of0\xc8\x00\x00\n\x00\x00\x00\x00di")  # atheris: a line break in the quoted rule
@example(text="`x\ny` > 1 or\n zz")
def test_any_rule_text_compiles_or_fails_in_one_line_at_a_column(duck: Any, text: str) -> None:
    try:
        with overflow_named():  # as grading runs it: `1000000000000000000 * 1000` overflows at run time
            evaluated(duck, text)
    except RuleSyntaxError as err:
        assert 0 <= err.pos <= len(text)
        message = one_line(str(err))
        assert f"at column {err.pos + 1}" in message and len(message) < SHOWN + 400, message
    except PolicyError as err:
        message = one_line(str(err))
        assert "at column" in message or "is not a condition" in message or "past the engine's range" in message
        assert len(message) < SHOWN + 600, message


@bounded(60)
@given(text=st.one_of(spoiled_policy(), spoiled_text()))
def test_a_spoiled_preset_checks_ok_or_fails_in_one_line_naming_its_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, "utf-8", errors="surrogatepass")
    try:
        check(path)
    except PolicyError as err:
        message = one_line(str(err))
        assert message.startswith(f"{path}:"), message


def test_a_long_or_chain_compiles_and_its_error_quotes_200_characters(duck: Any) -> None:
    """400 conditions ran out of stack ('maximum recursion depth exceeded', the 27,000-character
    rule quoted whole); a balanced tree compiles them, and an unknown name quotes its surroundings."""
    rule = " or ".join(f"a == {i}" for i in range(3000))
    assert evaluated(duck, rule) == [True, False, True, True, True]  # 6, -7, 0, 1000, 3 against 0..2999
    with pytest.raises(PolicyError) as info:
        evaluated(duck, rule + " or zz > 1")
    message = str(info.value)
    assert message.startswith(f"fuzz: unknown name 'zz' at column {len(rule) + 5} in '…")
    assert message.endswith(" or a == 2999 or zz > 1'") and len(message) < 300


def test_a_sum_of_more_than_the_height_is_refused_at_its_column() -> None:
    rule = " + ".join(["a"] * (MAX_HEIGHT + 5)) + " > 0"
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(rule)
    assert info.value.pos == rule.index("+") + 4 * (MAX_HEIGHT - 1)  # the 100th '+' from the left
    parse_rule(" + ".join(["a"] * (MAX_HEIGHT - 1)) + " > 0")  # one level less than the limit: parsed


def test_arithmetic_past_64_bits_fails_grading_in_one_line_and_leaves_no_file(tmp_path: Path) -> None:
    """`check` cannot see it (the overflow needs the data): grading said DuckDB's traceback, exit
    1, and left a tmp_ file beside the output."""
    from tierkit.policy.loader import preset_text

    policy = tmp_path / "over.yaml"
    policy.write_text(
        preset_text("retail").replace(
            'when: "spend_12m > 100000 and (orders_per_month > 5 or loyal_years >= 3)"',
            'when: "orders_12m * 99999999999 * 99999999999 > 0"',
        ),
        "utf-8",
    )
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,ordered_at,amount\nA1,C1,2024-01-05,10\n", "utf-8")
    out = tmp_path / "graded.csv"
    result = CliRunner().invoke(app, ["grade", "--orders", str(orders), "--policy", str(policy), "--output", str(out)])
    assert isinstance(result.exception, PolicyError) and result.exception.exit_code == 2, result.output
    assert "Overflow in multiplication of INT64 (99999999999 * 99999999999)" in str(result.exception)
    assert "\n" not in str(result.exception)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.csv", "over.yaml"]


def test_a_control_character_in_the_yaml_is_named_by_its_line(tmp_path: Path) -> None:
    """YAML's reader error ran over two lines and said line 1 wherever the character was."""
    from tierkit.policy.loader import preset_text

    text = preset_text("retail").replace("name: retail", "name: re\x03tail")
    line = text[: text.index("\x03")].count("\n") + 1
    path = tmp_path / "policy.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(PolicyError) as info:
        check(path)
    assert str(info.value) == f"{path}:{line}: not valid YAML: character U+0003 is not allowed"
