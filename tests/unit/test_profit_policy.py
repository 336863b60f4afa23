"""The policy's `profit:` section: its shorthand, its defaults, and mistakes with file and line."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from tierkit.app.grading import grade
from tierkit.errors import PolicyError
from tierkit.policy.loader import load_policy, parse_policy
from tierkit.policy.profit import small_rules

BASE = """name: p
value: spend_12m
metrics:
  spend_12m: {sum: amount, window: 12M}
  margin_12m: {sum: profit, window: 12M}
  serve_12m: {sum: cost, from: interactions, window: 12M}
  trend_3m: {trend: {count: orders}, window: 3M}
tiers:
  - {name: vip, when: "spend_12m > 100"}
  - {name: rest, else: true}
"""


def test_the_shorthand_names_the_margin_and_the_defaults_fill_the_rest() -> None:
    policy = parse_policy(BASE + "profit: margin_12m\n", "p.yaml").policy
    assert policy.profit is not None and policy.profit.margin == "margin_12m" and policy.profit.cost_to_serve is None
    rules = small_rules(policy.profit, None)
    assert (rules.bottom, rules.protect, rules.within, rules.end_at, rules.loss) == (
        Decimal("0.5"),
        ("key_person",),
        "12M",
        2,
        True,
    )
    assert [(t.key, t.metric, t.threshold) for t in rules.upgrade] == [
        ("growth", "order_trend_6m", Decimal("1.2")),
        ("breadth", "categories_12m", Decimal(3)),
    ]
    assert [(t.key, t.metric, t.threshold) for t in rules.weed_out] == [
        ("late", "late_payments_12m", Decimal(2)),
        ("unpaid", "unpaid_orders_12m", Decimal(1)),
        ("complaints", "complaints_90d", Decimal(3)),
    ]
    assert rules.clv is None
    with_clv = small_rules(policy.profit, "clv_12m")
    assert with_clv.clv is not None and (with_clv.clv.metric, with_clv.clv.threshold) == ("clv_12m", Decimal(2))


def test_thresholds_metrics_and_switches_as_written() -> None:
    text = BASE + (
        "profit:\n  margin: margin_12m\n  cost_to_serve: serve_12m\n  small:\n    bottom: 0.3\n"
        "    protect: [key_person, vip_friend]\n"
        "    upgrade: {growth: {metric: trend_3m, at_least: 1.5}, breadth: false, clv: 3, target: vip, within: 2Y}\n"
        "    weed_out: {late: 1, loss: false, end_at: 3}\n"
    )
    rules = small_rules(parse_policy(text, "p.yaml").policy.profit, "clv_12m")
    assert [(t.key, t.metric, t.threshold, t.written) for t in rules.upgrade] == [
        ("growth", "trend_3m", Decimal("1.5"), True)
    ]
    assert rules.clv is not None and rules.clv.threshold == Decimal(3)
    assert (rules.bottom, rules.protect, rules.target, rules.within, rules.loss, rules.end_at) == (
        Decimal("0.3"),
        ("key_person", "vip_friend"),
        "vip",
        "2Y",
        False,
        3,
    )
    assert rules.weed_out[0].threshold == Decimal(1)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("profit: {margn: margin_12m}", "p.yaml:11: profit.margn: unknown field 'margn' (did you mean 'margin'?)"),
        (
            "profit: {small: {upgrade: {growht: 2}}}",
            "profit.small.upgrade.growht: unknown field 'growht' (did you mean 'growth'?)",
        ),
        ("profit: {small: {bottom: 1.5}}", "profit.small.bottom: Input should be less than or equal to 1"),
        ("profit: {small: {upgrade: {within: 6W}}}", "within '6W' is not like 6M, 12M, 2Y or 90D"),
    ],
)
def test_a_mistake_in_the_section_names_its_key(section: str, message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)):
        parse_policy(BASE + section + "\n", "p.yaml")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "profit: margin_12",
            "p.yaml:11: profit.margin: 'margin_12' is not a metric of the policy (did you mean 'margin_12m'?)",
        ),
        (
            "profit: {margin: margin_12m, small: {weed_out: {late: {metric: late_12m}}}}",
            "profit.small.weed_out.late.metric: 'late_12m' is not a metric of the policy",
        ),
        (
            "profit: {margin: margin_12m, small: {upgrade: {target: vipp}}}",
            "profit.small.upgrade.target: 'vipp' is not a tier (did you mean 'vip'?)",
        ),
    ],
)
def test_names_the_data_would_not_have_are_errors_before_any_data(section: str, message: str, tmp_path: Path) -> None:
    from tierkit.app.policies import check

    path = tmp_path / "p.yaml"
    path.write_text(BASE + section + "\n", "utf-8")
    with pytest.raises(PolicyError) as info:
        check(str(path), None)
    assert message.replace("p.yaml", str(path)) in str(info.value)


def test_a_policy_without_the_section_keeps_its_version(tmp_path: Path) -> None:
    assert load_policy("retail").short_hash == "756a8341d139"
    plain = parse_policy(BASE, "p.yaml")
    assert parse_policy(BASE + "profit: margin_12m\n", "p.yaml").hash != plain.hash


def test_without_a_margin_column_the_profit_is_unknown_not_zero(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,ordered_at,amount\na,2024-06-01,200\nb,2024-06-02,50\n", "utf-8")
    policy = parse_policy(BASE + "profit: {margin: margin_12m, cost_to_serve: serve_12m}\n", "p.yaml")
    result = grade(orders, policy=policy, as_of="2024-06-30")
    profit = result.summary()["profit"]
    assert profit["unknown"] == 2 and profit["unprofitable"] == {"customers": 0, "share": 0.0, "loss": "0"}
    assert profit["cost_to_serve"] == "0" and [r["profit_share"] for r in profit["pyramid"]] == [None] * 4
    assert any("has no column 'profit'" in note for note in result.warnings)
