"""Entitlements as policy data: limits, tag grants, their errors, the version hash, the periods.

Expected values are worked out by hand: calendar periods in China time (+08:00), a month's limit
counted 12 times a year when two grants of one code are compared.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tierkit.errors import PolicyError
from tierkit.policy.entitlements import Granted, grants, known_codes, period_of
from tierkit.policy.loader import parse_policy

LEAP_FEBRUARY = (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
HEAD = """name: t
metrics: {s: {sum: amount}}
tiers: [{name: "6", when: "s > 2"}, {name: "5", when: "s > 1"}, {name: rest, else: true}]
tags: [{name: key_person, when: "s > 5"}, {name: campus, when: "s > 6"}]
"""
BODY = """service:
  "5":
    entitlements:
      - dedicated_counter
      - free_sim_replacement
      - {code: roaming, limit: 1, per: month}
  "6": {entitlements: [dedicated_counter, {code: free_sim_replacement, limit: 4, per: year}]}
entitlements:
  dedicated_counter: {label: {zh: 专区专柜, en: Dedicated counter}}
  free_sim_replacement: {label: {zh: 免费补卡, en: Free SIM replacement}, limit: 2, per: year}
  roaming: {label: {zh: 国际漫游快速开通, en: Roaming fast track}}
tag_entitlements:
  key_person: {same_as: "5"}
  campus: {entitlements: [{code: roaming, limit: 20, per: year}]}
"""


def _policy(body: str = BODY) -> object:
    return parse_policy(HEAD + body, "policy.yaml").policy


def test_what_a_tier_and_its_tags_grant() -> None:
    policy = _policy()
    assert grants(policy, "5", []) == {  # type: ignore[arg-type]
        "dedicated_counter": Granted("dedicated_counter", None, None, (("tier", "5"),)),
        "free_sim_replacement": Granted("free_sim_replacement", 2, "year", (("tier", "5"),)),  # the catalogue's
        "roaming": Granted("roaming", 1, "month", (("tier", "5"),)),  # the tier's own
    }
    six = grants(policy, "6", ["key_person"])  # type: ignore[arg-type]
    assert six["free_sim_replacement"] == Granted(
        "free_sim_replacement", 4, "year", (("tier", "6"), ("tag", "key_person"))
    )  # 4 a year beats the 5-star set's 2
    assert six["roaming"] == Granted("roaming", 1, "month", (("tag", "key_person"),))
    # 1 a month is 12 a year; the campus tag's 20 a year is more generous
    both = grants(policy, "rest", ["key_person", "campus"])  # type: ignore[arg-type]
    assert both["roaming"] == Granted("roaming", 20, "year", (("tag", "key_person"), ("tag", "campus")))
    assert grants(policy, "rest", []) == {}  # type: ignore[arg-type]
    assert known_codes(policy) == ["dedicated_counter", "free_sim_replacement", "roaming"]  # type: ignore[arg-type]


def test_a_policy_without_limits_keeps_its_version() -> None:
    plain = 'service:\n  "5": {entitlements: [a, b]}\n'
    written = 'service:\n  "5": {entitlements: [a, {code: b}]}\ntag_entitlements: {}\n'
    assert parse_policy(HEAD + plain, "a.yaml").hash == parse_policy(HEAD + written, "b.yaml").hash
    limited = 'service:\n  "5": {entitlements: [a, {code: b, limit: 1, per: year}]}\n'
    assert parse_policy(HEAD + limited, "c.yaml").hash != parse_policy(HEAD + plain, "a.yaml").hash


ERRORS = [  # (text in BODY, its replacement, what the error says: a regular expression)
    ("limit: 1, per: month}", "limit: 1}", r"policy\.yaml:10: service\.5\.entitlements\[2\]: limit: 1 needs per"),
    ("limit: 1, per: month}", "limt: 1}", r"entitlements\[2\]\.limt: unknown field 'limt' \(did you mean 'limit'\?\)"),
    ("limit: 2, per: year}", "per: year}", r"policy\.yaml:14: entitlements\.free_sim_replacement: per: year needs a"),
    ("limit: 4, per: year", "limit: 0, per: year", r"service\.6\.entitlements\[1\]\.limit: Input should be greater"),
    ("limit: 4, per: year", "limit: 4, per: week", r"service\.6\.entitlements\[1\]\.per: Input should be 'year' or"),
    (
        "code: free_sim_replacement, limit: 4",
        "code: free_sim, limit: 4",
        r"policy\.yaml:11: service\.6\.entitlements\[1\]: 'free_sim' is not in",
    ),
    (
        "  key_person: {same",
        "  key_persn: {same",
        r"policy\.yaml:17: tag_entitlements\.key_persn: 'key_persn' is not a tag",
    ),
    ('same_as: "5"', 'same_as: "7"', r"policy\.yaml:17: tag_entitlements\.key_person\.same_as: '7' is not a tier with"),
    ('{same_as: "5"}', "{}", r"tag_entitlements\.key_person: a tag grant needs same_as: TIER or entitlements"),
    (
        "code: roaming, limit: 20",
        "code: roam, limit: 20",
        r"policy\.yaml:18: tag_entitlements\.campus\.entitlements\[0\]: 'roam'",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), ERRORS)
def test_errors_name_the_key_and_its_line(old: str, new: str, message: str) -> None:
    assert old in BODY
    with pytest.raises(PolicyError, match=message):
        _policy(BODY.replace(old, new, 1))


def test_periods_are_calendar_ones_in_the_policy_time_zone() -> None:
    china = 8 * 60
    year = period_of("year", dt.datetime(2026, 12, 31, 15, 59, tzinfo=dt.UTC), china)  # 23:59 in China
    assert (year.key, year.first_day, year.last_day) == ("2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert year.start == dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC)
    assert year.end == dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)
    assert period_of("year", dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC), china).key == "2027"
    december = period_of("month", dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC), china)
    assert (december.key, december.last_day) == ("2026-12", dt.date(2026, 12, 31))
    assert december.end == dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)
    february = period_of("month", dt.datetime(2028, 2, 29, 12, 0, tzinfo=dt.UTC), 0)
    assert (february.key, february.first_day, february.last_day) == ("2028-02", *LEAP_FEBRUARY)
    assert period_of("month", dt.datetime(2026, 3, 31, 20, 0, tzinfo=dt.UTC), china).key == "2026-04"
