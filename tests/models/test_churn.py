"""Churn early warning on the demo shop: the model beats recency and P(alive), and scores in the engine."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tierkit.backends import connect
from tierkit.cli.app import app
from tierkit.demo.shop import generate
from tierkit.engine.reading import read_inputs
from tierkit.models.churn import EXTRA_SIGNALS, features, signals, train


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    generate(folder, customers=2500, seed=11)
    return folder


def test_backtest_beats_both_baselines_on_the_demo_shop(shop: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "churn",
            "backtest",
            "--orders",
            str(shop / "orders.parquet"),
            "--interactions",
            str(shop / "interactions.parquet"),
            "--as-of",
            "2026-09-30",
            "--horizon",
            "90D",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["model"]["auc"] > report["recency"]["auc"] > 0.5
    assert report["model"]["auc"] > report["p_alive"]["auc"]
    assert 0.1 < report["test"]["churn_rate"] < 0.9 and report["train_cutoff"] < report["test_cutoff"]


def test_scoring_in_the_engine_matches_the_fitted_model(shop: Path) -> None:
    engine = connect("duckdb")
    inputs = read_inputs(engine, shop / "orders.parquet", interactions=shop / "interactions.parquet")
    model, _ = train(inputs, dt.date(2026, 3, 31), "90D", engine)
    table = features(inputs, dt.date(2026, 6, 30))
    scored = engine.to_pyarrow(table.mutate(risk=model.risk(table)).order_by("customer_id"))
    X = np.column_stack([np.asarray(scored[n].to_numpy(zero_copy_only=False), dtype=float) for n in model.names])
    X = np.where(np.isnan(X), model.mean, X)
    expected = 1 / (1 + np.exp(-(((X - model.mean) / model.scale) @ model.coef + model.intercept)))
    assert np.asarray(scored["risk"].to_numpy(zero_copy_only=False)) == pytest.approx(expected, abs=1e-9)
    row = scored.slice(0, 1).to_pylist()[0]
    drivers = model.contributions(row)
    assert all(a[1] >= b[1] > 0 for a, b in itertools.pairwise(drivers))  # most important first


CHURN_POLICY = """
name: churn-test
metrics:
  spend_12m: {sum: amount, window: 12M}
  churn_risk: {churn: risk, horizon: 90D}
  churn_signals: {churn: signals, horizon: 90D}
tiers:
  - {name: watch, when: "churn_risk >= 0.7"}
  - {name: other, else: true}
"""


def test_churn_metrics_in_a_policy_and_on_the_card(shop: Path, tmp_path: Path) -> None:
    from tierkit.app.grading import grade
    from tierkit.engine.check import check_policy
    from tierkit.policy.loader import load_policy
    from tierkit.runs.card import card_from_row

    policy = tmp_path / "churn.yaml"
    policy.write_text(CHURN_POLICY, "utf-8")
    check_policy(load_policy(policy))  # compiles with no data to train on
    graded = grade(
        shop / "orders.parquet", interactions=shop / "interactions.parquet", policy=str(policy), as_of="2026-09-30"
    )
    rows = graded.table.to_pylist()
    assert all(0 <= r["churn_risk"] <= 1 for r in rows)
    assert {r["tier"] for r in rows} == {"watch", "other"}
    known = set(signals()) | set(EXTRA_SIGNALS)
    for row in rows[:200]:
        named = [s for s in (row["churn_signals"] or "").split(",") if s]
        assert len(named) <= 3 and set(named) <= known
    risky = max(rows, key=lambda r: r["churn_risk"])

    class Run:  # the card reads a run's id, as-of and tiers
        run_id, manifest = "r", {"as_of": "2026-09-30", "tiers": ["watch", "other"]}

    card = card_from_row(Run(), graded.loaded.policy, risky, "zh")  # type: ignore[arg-type]
    labels = card["metrics"]["churn_signals"]
    assert labels and all(label in {v["zh"] for v in {**signals(), **EXTRA_SIGNALS}.values()} for label in labels)


def test_price_and_quality_sensitivity_tags_are_exclusive_and_mean_what_they_say(shop: Path) -> None:
    from tierkit.app.grading import grade

    rows = grade(
        shop / "orders.parquet", interactions=shop / "interactions.parquet", policy="retail", as_of="2026-09-30"
    ).table.to_pylist()
    price = [r for r in rows if r["tag_price_sensitive"]]
    quality = [r for r in rows if r["tag_quality_sensitive"]]
    assert price and quality and not [r for r in price if r["tag_quality_sensitive"]]

    def share(group: list[dict[str, object]]) -> float:
        values = [float(r["discounted_share_12m"]) for r in group if r["discounted_share_12m"] is not None]
        return sum(values) / len(values)

    assert share(price) > share(quality)  # the price-sensitive buy on discount more


def test_show_lists_the_churn_signals_in_words(shop: Path, tmp_path: Path) -> None:
    import shutil

    ws = tmp_path / "ws"
    assert CliRunner().invoke(app, ["init", str(ws)]).exit_code == 0
    for name in ("orders.parquet", "interactions.parquet"):
        shutil.copy(shop / name, ws / "data" / name)
    (ws / "policy.yaml").write_text(CHURN_POLICY, "utf-8")
    assert CliRunner().invoke(app, ["grade", "-w", str(ws), "--as-of", "2026-09-30"]).exit_code == 0
    watched = json.loads(CliRunner().invoke(app, ["runs", "-w", str(ws), "--json"]).output)
    assert watched
    import pyarrow.parquet as pq

    from tierkit.runs.files import load_run
    from tierkit.workspace import Workspace

    result = pq.read_table(load_run(Workspace.open(ws)).result, columns=["customer_id", "tier"]).to_pylist()
    risky = next(r["customer_id"] for r in result if r["tier"] == "watch")
    shown = CliRunner().invoke(app, ["show", risky, "-w", str(ws), "--lang", "zh"])
    assert shown.exit_code == 0 and "churn_signals:" in shown.output
    words = {v["zh"] for v in signals().values()} | {v["zh"] for v in EXTRA_SIGNALS.values()}
    line = next(line for line in shown.output.splitlines() if "churn_signals:" in line)
    assert any(word in line for word in words)


@pytest.mark.parametrize(("as_of", "horizon"), [("2026-03-31", "3M"), ("2026-06-30", "3M"), ("2026-06-30", "1Y")])
def test_labels_end_on_the_as_of_date_for_month_and_year_horizons(as_of: str, horizon: str, tmp_path: Path) -> None:
    """Training looks one horizon back from the as-of date and labels by what happened up to it:
    an order the day after as-of is never seen, one on the as-of day itself counts."""
    from tierkit.models.churn import _after, _before, churned

    day = dt.date.fromisoformat(as_of)
    cutoff = _before(day, horizon)
    rows = ["customer_id,ordered_at,amount"]
    for cid in ("on_as_of", "after_as_of", "never"):
        rows.append(f"{cid},{cutoff - dt.timedelta(days=30)},10")
    rows.append(f"on_as_of,{day},10")
    rows.append(f"after_as_of,{day + dt.timedelta(days=1)},10")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    engine = connect("duckdb")
    orders = read_inputs(engine, path).orders.table
    assert _after(cutoff, horizon) == day  # the horizon reaches from the cut-off to the as-of date
    for until in (day, None):  # given, and the horizon's own end
        bought = engine.to_pyarrow(churned(orders, cutoff, horizon, until))["customer_id"].to_pylist()
        assert sorted(bought) == ["on_as_of"]
