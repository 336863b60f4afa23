"""The `stability:` section of a policy, and what the card says of each outcome, in zh and en."""

from __future__ import annotations

from typing import Any

import pytest

from tierkit.engine.check import check_policy
from tierkit.errors import PolicyError
from tierkit.policy.loader import parse_policy
from tierkit.runs.reasons_text import reasons_in_words, stability_in_words

POLICY = """
name: stable
{stability}
metrics:
  spend: {{sum: amount, window: 12M}}
tiers:
  - {{name: vip, label: {{zh: VIP客户, en: VIP}}, when: "spend >= 1000"}}
  - {{name: regular, label: {{zh: 普通客户, en: Regular}}, when: "spend >= 100"}}
  - {{name: potential, label: {{zh: 潜在客户, en: Potential}}, else: true}}
"""


def loaded(stability: str) -> Any:
    return parse_policy(POLICY.format(stability=stability), "stable.yaml")


def test_the_section_is_read_and_changes_the_version() -> None:
    plain = loaded("")
    stable = loaded("stability: {downgrade_after_runs: 2, grace_days: 90}")
    assert stable.policy.stability is not None
    assert (stable.policy.stability.downgrade_after_runs, stable.policy.stability.grace_days) == (2, 90)
    assert plain.policy.stability is None
    assert stable.hash != plain.hash
    assert loaded("stability: {grace_days: 90}").hash != stable.hash
    # block style and key order are the same version
    assert loaded("stability:\n  grace_days: 90\n  downgrade_after_runs: 2").hash == stable.hash


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "{}",
            "stable.yaml:3: stability: stability needs downgrade_after_runs (e.g. 2) or grace_days (e.g. 90), or both",
        ),
        (
            "{downgrade_after_runs: 1}",
            "stable.yaml:3: stability.downgrade_after_runs: 1 would move a customer down at the first run below "
            "the tier: use 2 or more",
        ),
        (
            "{grace_day: 90}",
            "stable.yaml:3: stability.grace_day: unknown field 'grace_day' (did you mean 'grace_days'?)",
        ),
        ("{grace_days: 0}", "stable.yaml:3: stability.grace_days: Input should be greater than or equal to 1"),
    ],
)
def test_a_wrong_section_is_one_line_naming_its_key(given: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        loaded(f"stability: {given}")
    assert str(err.value) == message


def test_a_metric_may_not_take_a_column_stability_adds() -> None:
    policy = loaded("stability: {grace_days: 30}")
    text = policy.text.replace(
        "  spend: {sum: amount, window: 12M}", "  spend: {sum: amount}\n  kept_since: {count: orders}"
    )
    with pytest.raises(
        PolicyError, match=r"stable.yaml:6: metrics.kept_since: 'kept_since' is a column that stability"
    ):
        check_policy(parse_policy(text, "stable.yaml"))


TIERS = ["vip", "regular", "potential"]
KEPT = {
    "outcome": "kept",
    "previous": "vip",
    "graded": "regular",
    "tier": "vip",
    "below_runs": 1,
    "since": "2026-07-02",
}


@pytest.mark.parametrize(
    ("stability", "entry", "zh", "en"),
    [
        (
            "stability: {grace_days: 90}",
            {**KEPT, "until": "2026-09-30", "grace_days": 90},
            "保级期至 2026-09-30: 本次评为普通客户，仍保持VIP客户",
            "VIP kept until 2026-09-30 (grace): graded Regular in this run",
        ),
        (
            "stability: {downgrade_after_runs: 3}",
            {**KEPT, "below_runs": 2, "after_runs": 3},
            "保持VIP客户: 本次评为普通客户，已连续 2 次低于该等级，连续 3 次即降级",
            "VIP kept: graded Regular, below it 2 runs in a row; moves down after 3 in a row",
        ),
        (
            "stability: {downgrade_after_runs: 2, grace_days: 90}",
            {**KEPT, "until": "2026-09-30", "after_runs": 2, "grace_days": 90},
            "保级期至 2026-09-30: 本次评为普通客户，仍保持VIP客户（已连续 1 次低于该等级，连续 2 次即降级）",
            "VIP kept until 2026-09-30 (grace): graded Regular, below it 1 run in a row; "
            "moves down after 2 in a row or when the grace ends",
        ),
        (
            "stability: {grace_days: 90}",
            {**KEPT, "outcome": "down", "tier": "regular", "below_runs": 4, "until": "2026-09-30", "by": "grace"},
            "降为普通客户: VIP客户的保级期已于 2026-09-30 结束",
            "Moved down to Regular: the grace period of VIP ended on 2026-09-30",
        ),
        (
            "stability: {downgrade_after_runs: 2}",
            {**KEPT, "outcome": "down", "graded": "potential", "tier": "potential", "below_runs": 2, "by": "runs"},
            "降为潜在客户: 已连续 2 次低于VIP客户",
            "Moved down to Potential: below VIP 2 runs in a row",
        ),
    ],
)
def test_each_outcome_in_words(stability: str, entry: dict[str, Any], zh: str, en: str) -> None:
    policy = loaded(stability).policy
    assert stability_in_words(policy, TIERS, entry, "zh") == zh
    assert stability_in_words(policy, TIERS, entry, "en") == en


def test_the_sentence_follows_the_tier_rule_and_null_says_nothing() -> None:
    policy = loaded("stability: {grace_days: 90}").policy
    reasons = {"tier": {"rule": "regular", "when": "spend >= 100"}, "stability": {**KEPT, "until": "2026-09-30"}}
    assert reasons_in_words(policy, TIERS, reasons, "zh")[:2] == [
        "定为普通客户: 满足条件 spend >= 100",
        "保级期至 2026-09-30: 本次评为普通客户，仍保持VIP客户",
    ]
    assert reasons_in_words(policy, TIERS, {**reasons, "stability": None}, "en") == ["Regular: spend >= 100 holds"]


def test_values_are_said_in_the_readers_words() -> None:
    """A flag among the values is 是/否 (yes/no), never Python's False; numbers get separators."""
    policy = loaded("").policy
    reasons = {"tier": {"rule": "vip", "when": "spend >= 1000"}, "values": {"spend": 12345.5, "侯鸟客户": False}}
    assert reasons_in_words(policy, TIERS, reasons, "zh")[-1] == "依据的数值: spend = 12,345.5; 侯鸟客户 = 否"
    assert reasons_in_words(policy, TIERS, {**reasons, "values": {"vip_flag": True}}, "en")[-1] == (
        "Values used: vip_flag = yes"
    )
