"""CLV and churn metrics on every engine: the same values on DuckDB and Spark (docs/clv.md and
docs/churn.md claim it), and values that mean what they say.

The reference is DuckDB's result for the same files and policy; on Spark every clv and churn
column must equal it (both round to six decimals). The meaning is checked against oracles
independent of tierkit: for CLV, P(alive) is BG/NBD's closed form (Fader, Hardie & Lee 2005,
eq. 12) computed here in numpy from the fitted parameters and each customer's (x, t_x, T)
counted here from the orders; for churn, a customer who stopped buying and complained ranks
above one who buys every month, and the reasons of a hand-made model (tests/models/
test_churn_reasons.py, worked out by hand there) come out as the same text on every engine.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import tierkit
from tests.models.test_churn_reasons import EXPECTED, reasons_on, signal_table
from tierkit.backends import Backend
from tierkit.demo.shop import generate
from tierkit.policy.loader import parse_policy

POLICY = """
name: models-on-engines
metrics:
  spend_12m: {sum: amount, window: 12M}
  p_alive: {clv: p_alive, time_unit: week}
  purchases_90d: {clv: purchases, horizon: 90D}
  order_value: {clv: order_value}
  clv_12m: {clv: value, horizon: 12M}
  churn_risk: {churn: risk, horizon: 90D}
  churn_signals: {churn: signals, horizon: 90D}
tiers:
  - {name: watch, when: "churn_risk >= 0.6"}
  - {name: other, else: true}
"""
MODEL_COLUMNS = ("p_alive", "purchases_90d", "order_value", "clv_12m", "churn_risk", "churn_signals")
AS_OF = "2026-09-30"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models-shop")
    generate(folder, customers=1200, seed=5)
    return folder


def graded(shop: Path, engine: Backend | str) -> dict[str, dict[str, Any]]:
    result = tierkit.grade(
        shop / "orders.parquet",
        interactions=shop / "interactions.parquet",
        policy=parse_policy(POLICY, "models.yaml"),
        as_of=AS_OF,
        engine=engine,
    )
    return {row["customer_id"]: row for row in result.table.to_pylist()}


@pytest.fixture(scope="module")
def reference(shop: Path) -> dict[str, dict[str, Any]]:
    return graded(shop, "duckdb")


def test_clv_and_churn_are_identical_on_every_engine(
    engine: Backend, shop: Path, reference: dict[str, dict[str, Any]]
) -> None:
    rows = graded(shop, engine)
    assert rows.keys() == reference.keys()
    for column in MODEL_COLUMNS:
        differ = [cid for cid in rows if rows[cid][column] != reference[cid][column]]
        assert differ == [], f"{column} differs on {engine.name} for {len(differ)} customers, e.g. {differ[:3]}"
    assert [rows[c]["tier"] for c in sorted(rows)] == [reference[c]["tier"] for c in sorted(rows)]


def _purchase_days(shop: Path, as_of: dt.date) -> dict[str, list[dt.date]]:
    """Each customer's distinct order days up to the as-of date, read here from the file."""
    orders = pq.read_table(shop / "orders.parquet", columns=["customer_id", "ordered_at"]).to_pylist()
    days: dict[str, set[dt.date]] = {}
    for row in orders:
        when = row["ordered_at"]
        day = when.date() if isinstance(when, dt.datetime) else when
        if day <= as_of:
            days.setdefault(row["customer_id"], set()).add(day)
    return {cid: sorted(found) for cid, found in days.items()}


def test_p_alive_is_the_closed_form_of_the_fitted_model(shop: Path, reference: dict[str, dict[str, Any]]) -> None:
    """Fit once by `tierkit clv fit` (the same engine summary), then P(alive) from eq. 12 here."""
    from tierkit.app.models import clv_fit

    fitted = clv_fit(shop / "orders.parquet", AS_OF, "week")
    r, alpha, a, b = (fitted[k] for k in ("r", "alpha", "a", "b"))
    as_of = dt.date.fromisoformat(AS_OF)
    checked = 0
    for cid, days in _purchase_days(shop, as_of).items():
        x = len(days) - 1  # repeat purchase days
        t_x, T = (days[-1] - days[0]).days / 7, (as_of - days[0]).days / 7
        expected = 1.0 if x == 0 else 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
        assert reference[cid]["p_alive"] == pytest.approx(expected, abs=2e-6), cid
        checked += 1
    assert checked == len(reference) > 1000
    assert 0.2 < float(np.mean([row["p_alive"] for row in reference.values()])) < 0.95


def test_churn_risk_is_higher_for_lapsed_customers_than_for_active_ones(
    shop: Path, reference: dict[str, dict[str, Any]]
) -> None:
    """Lapsed (no order in the last 180 days) against active (an order in the last 30), counted
    here from the orders: the model's risk must tell them apart, and the riskiest say why."""
    as_of = dt.date.fromisoformat(AS_OF)
    last = {cid: days[-1] for cid, days in _purchase_days(shop, as_of).items()}
    lapsed = [reference[c]["churn_risk"] for c, day in last.items() if (as_of - day).days > 180]
    active = [reference[c]["churn_risk"] for c, day in last.items() if (as_of - day).days <= 30]
    assert len(lapsed) > 50 and len(active) > 50
    assert float(np.median(lapsed)) > float(np.median(active)) + 0.2
    assert all(0 <= row["churn_risk"] <= 1 for row in reference.values())
    riskiest = sorted(reference.values(), key=lambda row: -row["churn_risk"])[:100]
    assert sum(1 for row in riskiest if row["churn_signals"]) > 90


def test_churn_reasons_are_the_same_text_on_every_engine(engine: Backend, tmp_path: Path) -> None:
    """Values carried with fixed decimals from integers (0.125 -> '0.13', -3.456 -> '-3.46'):
    Spark's and DuckDB's float-to-text differ, their integer-to-text does not."""
    assert reasons_on(engine, signal_table(tmp_path)) == EXPECTED
