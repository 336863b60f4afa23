"""Churn early warning on the demo shop: the model beats recency and P(alive), passes its
validation, scores in the engine, and its reasons name only what each customer shows, with the
customer's own value (counted here from the orders file)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierkit.backends import connect
from tierkit.cli.app import app
from tierkit.demo.shop import generate
from tierkit.engine.reading import read_inputs
from tierkit.models.churn_model import ChurnModel, features, train
from tierkit.models.churn_signals import catalogue, parse_reasons

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning:tierkit.models.churn")
AS_OF = dt.date(2026, 9, 30)


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
    validation = report["validation"]  # one horizon earlier: trained as of 2026-01-03, validated 2026-04-03
    assert (validation["trained_as_of"], validation["validated_as_of"]) == ("2026-01-03", "2026-04-03")
    assert validation["status"] == "passed" and report["used"] == "model"
    assert validation["model_auc"] >= validation["recency_auc"] + validation["margin"]


def expected_reasons(model: ChurnModel, row: dict[str, Any]) -> list[str]:
    """docs/churn.md's rule, here in plain Python: a positive contribution, and the value on the
    leaving side of the mean; the three largest, largest first."""
    signals = catalogue()
    found = []
    for name, mean, scale, coef in zip(model.names, model.mean, model.scale, model.coef, strict=True):
        value = row[name]
        if value is None:
            continue
        contribution = coef * (float(value) - mean) / scale
        leaving = float(value) > mean if signals[name].leaving == "up" else float(value) < mean
        if contribution > 0 and leaving:
            found.append((-contribution, name))
    return [name for _, name in sorted(found)[:3]]


def test_scoring_in_the_engine_matches_the_fitted_model(shop: Path) -> None:
    from tierkit.models.churn_signals import reasons_text

    engine = connect("duckdb")
    inputs = read_inputs(engine, shop / "orders.parquet", interactions=shop / "interactions.parquet")
    model, _ = train(inputs, dt.date(2026, 3, 31), "90D", engine)
    table = features(inputs, dt.date(2026, 6, 30))
    scored = engine.to_pyarrow(
        table.mutate(risk=model.risk(table), why=reasons_text(model, table)).order_by("customer_id")
    )
    X = np.column_stack([np.asarray(scored[n].to_numpy(zero_copy_only=False), dtype=float) for n in model.names])
    X = np.where(np.isnan(X), model.mean, X)
    expected = 1 / (1 + np.exp(-(((X - model.mean) / model.scale) @ model.coef + model.intercept)))
    assert np.asarray(scored["risk"].to_numpy(zero_copy_only=False)) == pytest.approx(expected, abs=1e-9)
    rows = scored.to_pylist()
    assert sum(1 for row in rows if row["why"]) > len(rows) // 2
    for row in rows:
        assert [name for name, _ in parse_reasons(row["why"])] == expected_reasons(model, row), row["customer_id"]


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


def counted(shop: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Per customer, from the orders file: days since the last order as of AS_OF, and orders in
    the 12 months before it paid after their due date."""
    orders = pq.read_table(shop / "orders.parquet", columns=["customer_id", "ordered_at", "due_at", "paid_at"])
    last: dict[str, dt.date] = {}
    late: dict[str, int] = {}
    for row in orders.to_pylist():
        cid, day = row["customer_id"], row["ordered_at"]
        if day > AS_OF:
            continue
        last[cid] = max(last.get(cid, day), day)
        paid, due = row["paid_at"], row["due_at"]
        if day > dt.date(2025, 9, 30) and paid is not None and due is not None and paid > due:
            late[cid] = late.get(cid, 0) + 1
    return {cid: (AS_OF - day).days for cid, day in last.items()}, late


def test_churn_metrics_in_a_policy_and_on_the_card(shop: Path, tmp_path: Path) -> None:
    from tierkit.app.grading import grade
    from tierkit.engine.check import check_policy
    from tierkit.policy.loader import load_policy
    from tierkit.runs.card import card_from_row

    policy = tmp_path / "churn.yaml"
    policy.write_text(CHURN_POLICY, "utf-8")
    check_policy(load_policy(policy))  # compiles with no data to train on
    graded = grade(
        shop / "orders.parquet", interactions=shop / "interactions.parquet", policy=str(policy), as_of=AS_OF.isoformat()
    )
    rows = graded.table.to_pylist()
    assert all(0 <= r["churn_risk"] <= 1 for r in rows)
    assert {r["tier"] for r in rows} == {"watch", "other"}
    recency, late = counted(shop)
    for row in rows:
        reasons = dict(parse_reasons(row["churn_signals"]))
        assert len(reasons) <= 3 and set(reasons) <= set(catalogue())
        if "recency_days" in reasons:
            assert reasons["recency_days"] == str(recency[row["customer_id"]])
        if "late_payments_12m" in reasons:  # only a customer who did pay late, with their own count
            assert reasons["late_payments_12m"] == str(late[row["customer_id"]])
    risky = max(rows, key=lambda r: (r["churn_risk"], "recency_days" in (r["churn_signals"] or "")))

    class Run:  # the card reads a run's id, as-of and tiers
        run_id, manifest = "r", {"as_of": AS_OF.isoformat(), "tiers": ["watch", "other"]}

    card = card_from_row(Run(), graded.loaded.policy, risky, "zh")  # type: ignore[arg-type]
    words = card["metrics"]["churn_signals"]
    assert words and len(words) == len(parse_reasons(risky["churn_signals"]))
    if "recency_days" in risky["churn_signals"]:
        assert f"距上次购买 {recency[risky['customer_id']]} 天" in words


def test_a_customer_who_never_paid_late_is_never_told_so(shop: Path) -> None:
    """Issue 11: with `paid_at`, late payments are a signal; whatever weight the fit gives them,
    no customer with no late payment in 12 months (counted here) gets that reason."""
    from tierkit.models.churn_signals import reasons_text

    engine = connect("duckdb")
    inputs = read_inputs(engine, shop / "orders.parquet", interactions=shop / "interactions.parquet")
    model, _ = train(inputs, dt.date(2026, 7, 2), "90D", engine, until=AS_OF)
    # The case of the issue: on this shop the fit gives late payments a negative weight, so that
    # weight × z > 0 for every customer below the mean, i.e. for those who never paid late.
    assert model.coef[model.names.index("late_payments_12m")] < 0
    table = features(inputs, AS_OF)
    scored = engine.to_pyarrow(table.select("customer_id", "late_payments_12m", why=reasons_text(model, table)))
    _, late = counted(shop)
    never = [r for r in scored.to_pylist() if late.get(r["customer_id"], 0) == 0]
    assert len(never) > 100 and all(r["late_payments_12m"] == 0 for r in never)
    assert not [r["customer_id"] for r in never if "late_payments_12m" in (r["why"] or "")]


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
    line = next(line for line in shown.output.splitlines() if "churn_signals:" in line)
    templates = [s.words["zh"].split("{")[0] for s in catalogue().values()]
    assert any(t and t in line for t in templates) and any(ch.isdigit() for ch in line)


@pytest.mark.parametrize(("as_of", "horizon"), [("2026-03-31", "3M"), ("2026-06-30", "3M"), ("2026-06-30", "1Y")])
def test_labels_end_on_the_as_of_date_for_month_and_year_horizons(as_of: str, horizon: str, tmp_path: Path) -> None:
    """Training looks one horizon back from the as-of date and labels by what happened up to it:
    an order the day after as-of is never seen, one on the as-of day itself counts."""
    from tierkit.models.churn_model import after, before, churned

    day = dt.date.fromisoformat(as_of)
    cutoff = before(day, horizon)
    rows = ["customer_id,ordered_at,amount"]
    for cid in ("on_as_of", "after_as_of", "never"):
        rows.append(f"{cid},{cutoff - dt.timedelta(days=30)},10")
    rows.append(f"on_as_of,{day},10")
    rows.append(f"after_as_of,{day + dt.timedelta(days=1)},10")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    engine = connect("duckdb")
    orders = read_inputs(engine, path).orders.table
    assert after(cutoff, horizon) == day  # the horizon reaches from the cut-off to the as-of date
    for until in (day, None):  # given, and the horizon's own end
        bought = engine.to_pyarrow(churned(orders, cutoff, horizon, until))["customer_id"].to_pylist()
        assert sorted(bought) == ["on_as_of"]
