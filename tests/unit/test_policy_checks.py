"""Policy mistakes caught before any data is read: `tierkit check` and model validation."""

from __future__ import annotations

import pytest

from tierkit.engine.check import check_policy
from tierkit.errors import PolicyError
from tierkit.policy.loader import load_policy, parse_policy, preset_names

HEAD = "name: t\nmetrics:\n  s: {sum: amount, window: 12M}\n  o: {count: orders}\n"
TIERS = 'tiers:\n  - {name: a, when: "s > 1"}\n  - {name: b, else: true}\n'


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_compiles(name: str) -> None:
    plan = check_policy(load_policy(name))
    assert "tier" in plan.expr.columns and "reasons" in plan.expr.columns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEAD + 'tiers:\n  - {name: a, when: "o = 3"}\n  - {name: b, else: true}\n', "use '=='"),
        (HEAD + "tiers:\n  - {name: a, when: \"o > 'x'\"}\n  - {name: b, else: true}\n", "cannot apply '>'"),
        (HEAD + "scores:\n  abc: {by: ss}\n" + TIERS, "unknown metric 'ss' (did you mean 's'?)"),
        (HEAD.replace("{count: orders}", "{sum: amont, from: interactions}") + TIERS, "unknown column 'amont'"),
        (HEAD + "value: nope\n" + TIERS, "t.yaml:5: value: 'nope' is not a numeric metric"),
        (HEAD + "value: customer_id\n" + TIERS, "'customer_id' is not a numeric metric"),
        (
            HEAD + "scores:\n  b: {type: bands, of: region, breaks: [1], names: [x, y]}\n" + TIERS,
            "breaks need a number",
        ),
        (
            HEAD + "tiers:\n  - {name: a, when: \"if(s > 1, 'x', 2) == 1\"}\n  - {name: b, else: true}\n",
            "cannot apply 'if'",
        ),
        (HEAD + "scores:\n  abc: {by: s}\nprimary: abc\nservice:\n  D: {}\n", "'D' is not a class of score 'abc'"),
    ],
)
def test_compile_errors_name_the_place(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        check_policy(parse_policy(text, "t.yaml"))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ("{sum: amount, window: 0M}", "window '0M' is empty"),
        ("{expr: 's * 2', window: 12M}", "window has no meaning for a expr metric"),
        ("{trend: {count: orders}, window: 6M, per: month}", "per has no meaning for a trend metric"),
        ("{consecutive_years: amount, threshold: 5, window: 12M}", "window has no meaning"),
        ("{sum: amount, threshold: 5}", "threshold has no meaning for a sum metric"),
        ("{count: orders, from: interactions}", "from has no meaning for a count metric"),
        ("{sum: amount, max_years: 3}", "max_years has no meaning for a sum metric"),
    ],
)
def test_keys_that_would_be_ignored_are_errors(metric: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(HEAD + f"  x: {metric}\n" + TIERS, "t.yaml")


def test_service_keys_and_tag_names_are_checked() -> None:
    with pytest.raises(PolicyError, match=r"service: 'aa' is not a tier \(did you mean 'a'\?\)"):
        parse_policy(HEAD + TIERS + "service:\n  aa: {}\n", "t.yaml")
    tags = "tags:\n  - {name: x, when: 's > 1'}\n  - {name: x, when: 's > 2'}\n"
    with pytest.raises(PolicyError, match="tag names must be unique"):
        parse_policy(HEAD + TIERS + tags, "t.yaml")


def test_hash_normalizes_numbers() -> None:
    base = HEAD + "scores:\n  abc: {by: s, cuts: [%s]}\n" + TIERS
    assert parse_policy(base % "0.8, 0.95", "a").hash == parse_policy(base % "0.80, 0.950", "b").hash
    assert parse_policy(base % "0.8, 0.95", "a").hash != parse_policy(base % "0.8, 0.96", "c").hash
