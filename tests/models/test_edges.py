"""Degenerate inputs to the models: each a one-line user error, or a sane answer, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.models.test_clv import cdnow_orders
from tierkit.cli.app import app
from tierkit.errors import TierkitError

runner = CliRunner()


def fails(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert isinstance(result.exception, TierkitError), (result.output, result.exception)
    return str(result.exception)


def test_no_repeat_purchases_is_too_little_history(tmp_path: Path) -> None:
    path = tmp_path / "once.csv"
    path.write_text("customer_id,ordered_at,amount\n" + "".join(f"c{i},2024-0{1 + i % 5}-02,10\n" for i in range(50)))
    message = fails(
        "clv",
        "holdout",
        "--orders",
        str(path),
        "--calibration-end",
        "2024-06-30",
        "--holdout-end",
        "2024-12-31",
        "--json",
    )
    assert "too little history" in message and "0 with a repeat purchase" in message


def test_clv_value_grows_with_its_horizon_and_is_never_negative(tmp_path: Path) -> None:
    from tierkit.app.grading import grade

    orders = cdnow_orders(tmp_path)
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "name: h\nmetrics:\n  v10: {clv: value, horizon: 10D}\n  v45: {clv: value, horizon: 45D}\n"
        "  v1m: {clv: value, horizon: 1M}\n  v12: {clv: value, horizon: 12M}\n"
        "tiers:\n  - {name: all, else: true}\n",
        "utf-8",
    )
    rows = grade(orders, policy=str(policy), as_of="1997-09-30").table.to_pylist()
    totals = {k: sum(r[k] for r in rows) for k in ("v10", "v1m", "v45", "v12")}
    assert totals["v10"] < totals["v1m"] < totals["v45"] < totals["v12"]
    assert min(r["v12"] for r in rows) >= 0


@pytest.mark.parametrize(("horizon", "expected"), [("90", "not like 90D"), ("12W", "not like 90D"), ("0D", "empty")])
def test_bad_churn_horizons(tmp_path: Path, horizon: str, expected: str) -> None:
    orders = cdnow_orders(tmp_path)
    assert expected in fails(
        "churn", "backtest", "--orders", str(orders), "--as-of", "1998-06-30", "--horizon", horizon
    )


def test_a_horizon_longer_than_the_history(tmp_path: Path) -> None:
    orders = cdnow_orders(tmp_path)
    message = fails("churn", "backtest", "--orders", str(orders), "--as-of", "1998-06-30", "--horizon", "2Y")
    assert "too long for this history" in message


def test_policy_horizons_must_end(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("name: h\nmetrics:\n  v: {clv: value, horizon: all}\ntiers:\n  - {name: all, else: true}\n")
    assert "has no end" in fails("check", str(policy))


def test_campaign_report_until_before_the_start(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    (ws / "data" / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\n"
        + "".join(f"{i},{i:04d},2026-05-0{1 + i % 9},10\n" for i in range(40))
    )
    assert runner.invoke(app, ["grade", "-w", str(ws), "--as-of", "2026-06-30"]).exit_code == 0
    made = json.loads(
        runner.invoke(app, ["campaign", "create", "-w", str(ws), "--segment", "spend_12m > 0", "--json"]).output
    )
    assert "must come after" in fails("campaign", "report", made["campaign_id"], "-w", str(ws), "--until", "2026-01-01")
    assert "nothing to measure" in fails("campaign", "report", made["campaign_id"], "-w", str(ws))
