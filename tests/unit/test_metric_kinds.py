"""A new kind of metric plugs in without an edit of the engine, the policy schema or the card.

The kind here (`recent_share: 90D`, the share of a customer's spend in the last N days) is
declared in this test module and registered in-process, as a package would through the entry
point group `tierkit.metric_kinds`. The oracle is the hand-computed share of the fixture orders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pytest
from pydantic import Field

import tierkit
from tierkit.engine.inputs import Inputs
from tierkit.errors import PolicyError
from tierkit.policy.kinds import KindParameters, MetricKind, metric_kinds, shown, unregister
from tierkit.policy.loader import parse_policy
from tierkit.policy.model import MetricSpec


class RecentShareParameters(KindParameters):
    recent_share: int = Field(gt=0)  # days


class RecentShare:
    def columns(self, inputs: Inputs, as_of: dt.date, specs: dict[str, MetricSpec], where: str) -> ir.Table:
        orders = inputs.orders.table
        upto = orders.filter(orders.ordered_at <= ibis.date(as_of))
        parts = {}
        for name, spec in specs.items():
            days = RecentShareParameters.model_validate(spec.parameters.model_dump()).recent_share
            recent = upto.ordered_at > ibis.date(as_of - dt.timedelta(days=days))
            parts[name] = (upto.amount.sum(where=recent).coalesce(0) / upto.amount.sum()).cast("float64").round(4)
        return upto.group_by("customer_id").aggregate(**parts)


BUILDER = RecentShare()


def words(value: object, parameters: object, lang: str) -> list[str]:
    days = getattr(parameters, "recent_share", "?")
    share = round(float(str(value)) * 100)
    return [f"{share}% 近{days}天" if lang == "zh" else f"{share}% in the last {days} days"]


KIND = MetricKind("recent_share", RecentShareParameters, f"{__name__}:BUILDER", f"{__name__}:words")

POLICY = """name: plug
metrics:
  spend: {sum: amount}
  fresh: {recent_share: 90}
tiers:
  - {name: active, when: "fresh >= 0.5"}
  - {name: other, else: true}
"""


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    tierkit.register(KIND)
    yield
    unregister(KIND.name)  # other tests in this worker must not see a test's kind


def test_a_registered_kind_grades_like_any_metric(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    orders = write_csv(
        "orders.csv",
        [
            {"customer_id": "A", "ordered_at": "2024-06-20", "amount": "30.00"},
            {"customer_id": "A", "ordered_at": "2024-01-10", "amount": "10.00"},
            {"customer_id": "B", "ordered_at": "2023-12-01", "amount": "50.00"},
            {"customer_id": "B", "ordered_at": "2024-05-01", "amount": "50.00"},
            {"customer_id": "B", "ordered_at": "2024-07-15", "amount": "999.00"},  # after the as-of date
        ],
    )
    result = tierkit.grade(orders, policy=parse_policy(POLICY, "plug.yaml"), as_of="2024-06-30")
    rows = {r["customer_id"]: r for r in result.table.to_pylist()}
    assert rows["A"]["fresh"] == 0.75 and rows["B"]["fresh"] == 0.5  # 30/40; 50/100 (2024-05-01 is within 90 days)
    assert rows["A"]["tier"] == "active" and rows["B"]["tier"] == "active"
    assert rows["A"]["spend"] == Decimal("40.00")


def test_its_parameters_are_checked_with_file_and_line() -> None:
    bad = POLICY.replace("{recent_share: 90}", "{recent_share: soon}")
    with pytest.raises(PolicyError, match=r"plug\.yaml:4: metrics\.fresh\.recent_share"):
        parse_policy(bad, "plug.yaml")
    with pytest.raises(PolicyError, match=r"plug\.yaml:4: metrics\.fresh\.recent_share: .*greater than 0"):
        parse_policy(POLICY.replace("{recent_share: 90}", "{recent_share: 0}"), "plug.yaml")
    with pytest.raises(PolicyError, match="window has no meaning for a recent_share metric"):
        parse_policy(POLICY.replace("{recent_share: 90}", "{recent_share: 90, window: 12M}"), "plug.yaml")


def test_the_policy_writes_it_back_as_given_and_its_version_ignores_other_kinds() -> None:
    loaded = parse_policy(POLICY, "plug.yaml")
    assert loaded.policy.model_dump(by_alias=True, exclude_none=True)["metrics"]["fresh"] == {"recent_share": 90}
    again = parse_policy(POLICY, "again.yaml")
    assert loaded.hash == again.hash
    assert {"clv", "churn", "recent_share"} <= set(metric_kinds())


def test_the_card_shows_its_values_in_words() -> None:
    spec = parse_policy(POLICY, "plug.yaml").policy.metrics["fresh"]
    assert spec.plugin is not None and spec.kind == "recent_share"
    assert shown(spec.kind, spec.parameters, 0.75, "zh") == ["75% 近90天"]
    assert shown(spec.kind, spec.parameters, 0.75, "en") == ["75% in the last 90 days"]


def test_check_compiles_it_without_data() -> None:
    assert tierkit.check(parse_policy(POLICY, "plug.yaml")).policy.name == "plug"
