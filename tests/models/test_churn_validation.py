"""The churn model is served only when it beats recency on validation; else the recency baseline, said.

Two planted histories, whose answer is known by construction:

- `recency_rules`: customers buy at their own pace until they stop for good, so "no order in the next
  90 days" is exactly "has already stopped", which days since the last order tell almost
  perfectly; complaints and inquiries are noise. No model can lead recency by a point of AUC:
  the baseline must be served, and said;
- `complaints_rule`: every customer keeps buying at their own pace; a customer who complains stops
  buying 5 days later. At a cut-off, those who complained in the last weeks look as recent as a
  customer who buys every month or so, and only complaints tell they will not be back: the model
  must be served, and it must predict the 90 days after the as-of date (in the file, never seen
  by the grading) better than recency does.

The oracles are counted here from the planted rows: recency's AUC at the validated cut-off,
each customer's days since the last order, who bought in the 90 days after the as-of date.
numpy warnings raised by the churn code (RuntimeWarning: "Mean of empty slice", overflow, division
by zero) are errors in this module (issue 11).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from tierkit.app.models import churn_backtest
from tierkit.backends import connect
from tierkit.engine.kinds import plugin_columns
from tierkit.engine.reading import read_inputs
from tierkit.errors import InputError, PolicyError
from tierkit.models.churn_validation import MARGIN
from tierkit.policy.model import MetricSpec

# numpy's warnings from the churn code are errors (issue 11: "Mean of empty slice"); the CLV fit's
# optimizer may overflow exp() on a trial step it then rejects, which is not the churn code's.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning:tierkit.models.churn")

AS_OF = dt.date(2026, 9, 30)
START = dt.date(2024, 10, 1)
HORIZON = 90
WHERE = "policy.yaml:3: metrics"


@dataclass(frozen=True)
class History:
    orders: Path
    interactions: Path | None
    rows: list[dict[str, Any]]

    def last_order(self, day: dt.date) -> dict[str, dt.date]:
        last: dict[str, dt.date] = {}
        for row in self.rows:
            if row["ordered_at"] <= day:
                last[row["customer_id"]] = max(last.get(row["customer_id"], row["ordered_at"]), row["ordered_at"])
        return last

    def bought_between(self, start: dt.date, end: dt.date) -> set[str]:
        return {r["customer_id"] for r in self.rows if start < r["ordered_at"] <= end}


def write(folder: Path, orders: list[dict[str, Any]], interactions: list[dict[str, Any]]) -> History:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(orders), folder / "orders.parquet")
    schema = pa.schema([("customer_id", pa.string()), ("at", pa.date32()), ("kind", pa.string())])
    if not interactions:
        return History(folder / "orders.parquet", None, orders)
    pq.write_table(pa.Table.from_pylist(interactions, schema=schema), folder / "interactions.parquet")
    return History(folder / "orders.parquet", folder / "interactions.parquet", orders)


def buying(rng: np.random.Generator, cid: str, first: dt.date, stop: dt.date, orders: list[dict[str, Any]]) -> None:
    """Orders from `first` to `stop`, a customer's own pace (every 4 to 20 days on average; no gap
    over 40 days, so that a customer still buying always buys within a 90-day horizon)."""
    pace = float(rng.uniform(4, 20))
    day = first
    while day <= stop:
        orders.append({"customer_id": cid, "ordered_at": day, "amount": round(float(rng.gamma(4.0, 15.0)), 2)})
        day += dt.timedelta(days=int(np.clip(rng.exponential(pace), 1, 40)))


def recency_rules(folder: Path, customers: int = 300, seed: int = 3) -> History:
    rng = np.random.default_rng(seed)
    orders: list[dict[str, Any]] = []
    interactions: list[dict[str, Any]] = []
    span = (AS_OF - START).days
    for i in range(customers):
        cid = f"R{i:04d}"
        first = START + dt.timedelta(days=int(rng.integers(0, span // 3)))
        stop = first + dt.timedelta(days=int(rng.integers(30, span + 2 * HORIZON)))
        buying(rng, cid, first, stop, orders)
        for _ in range(int(rng.integers(0, 4))):  # noise: unrelated to leaving
            day = START + dt.timedelta(days=int(rng.integers(0, span)))
            interactions.append({"customer_id": cid, "at": day, "kind": str(rng.choice(["complaint", "inquiry"]))})
    return write(folder, orders, interactions)


def complaints_rule(folder: Path, customers: int = 400, seed: int = 5) -> History:
    """Complaints fall in the last 400 days before the as-of date and the 90 after it (so that
    every cut-off has recent complainers); a complainer buys for 5 more days, then never again."""
    rng = np.random.default_rng(seed)
    orders: list[dict[str, Any]] = []
    interactions: list[dict[str, Any]] = []
    for i in range(customers):
        cid = f"K{i:04d}"
        first = START + dt.timedelta(days=int(rng.integers(0, 60)))
        stop = AS_OF + dt.timedelta(days=HORIZON)
        if rng.random() < 0.6:
            complained = AS_OF + dt.timedelta(days=int(rng.integers(-400, HORIZON)))
            interactions.append({"customer_id": cid, "at": complained, "kind": "complaint"})
            stop = min(stop, complained + dt.timedelta(days=5))
        buying(rng, cid, first, stop, orders)
    return write(folder, orders, interactions)


SPECS = {
    "churn_risk": MetricSpec.model_validate({"churn": "risk", "horizon": f"{HORIZON}D"}),
    "churn_signals": MetricSpec.model_validate({"churn": "signals", "horizon": f"{HORIZON}D"}),
}


def churn_columns(
    history: History, as_of: dt.date = AS_OF
) -> tuple[dict[str, dict[str, Any]], list[str], dict[str, Any]]:
    """The churn kind's columns as the engine asks for them, with the notes and status it hands back."""
    engine = connect("duckdb")
    inputs = read_inputs(engine, history.orders, interactions=history.interactions)
    notes: list[str] = []
    models: dict[str, Any] = {}
    table = plugin_columns("churn", inputs, as_of, SPECS, WHERE, notes, models)
    rows = engine.to_pyarrow(table).to_pylist()
    found = {r["customer_id"]: {"risk": r["__churn_churn_risk"], "signals": r["__churn_churn_signals"]} for r in rows}
    return found, notes, models


def recency_auc(history: History, cutoff: dt.date, until: dt.date) -> float:
    last = history.last_order(cutoff)
    later = history.bought_between(cutoff, until)
    ids = sorted(last)
    return float(roc_auc_score([cid not in later for cid in ids], [(cutoff - last[cid]).days for cid in ids]))


def test_a_model_no_better_than_recency_is_not_served_and_the_grading_says_so(tmp_path: Path) -> None:
    history = recency_rules(tmp_path / "recency")
    rows, notes, models = churn_columns(history)
    status = models["churn"]
    validation = status["validation"]
    cutoff = AS_OF - dt.timedelta(days=HORIZON)
    assert validation["validated_as_of"] == cutoff.isoformat() and validation["outcomes_until"] == AS_OF.isoformat()
    assert validation["recency_auc"] == pytest.approx(recency_auc(history, cutoff, AS_OF), abs=5e-5)
    assert validation["recency_auc"] > 0.97  # the planted rule: recency tells it
    assert validation["status"] == "failed" and validation["model_auc"] < validation["recency_auc"] + MARGIN
    assert status["used"] == "recency_baseline" and list(status["weights"]) == ["recency_days"]
    assert len(notes) == 1 and notes[0].startswith(f"{WHERE} (churn_risk, churn_signals): ")
    assert f"AUC {validation['model_auc']:.3f} against recency's {validation['recency_auc']:.3f}" in notes[0]
    assert "recency baseline" in notes[0]
    # The baseline ranks as recency does, and its one reason is the customer's own recency.
    last = history.last_order(AS_OF)
    days = {cid: (AS_OF - day).days for cid, day in last.items()}
    assert rows.keys() == days.keys()
    ranked = sorted(days, key=lambda cid: days[cid])
    risks = [rows[cid]["risk"] for cid in ranked]
    assert risks == sorted(risks) and risks[0] < risks[-1]
    named = {cid: r["signals"] for cid, r in rows.items() if r["signals"]}
    assert named and all(text == f"recency_days={days[cid]}" for cid, text in named.items())
    assert min(days[c] for c in named) > max(days[c] for c in rows if c not in named)  # the long-gone


def test_a_model_that_beats_recency_is_served_and_predicts_what_happened_next(tmp_path: Path) -> None:
    history = complaints_rule(tmp_path / "complaints")
    rows, notes, models = churn_columns(history)
    status = models["churn"]
    validation = status["validation"]
    cutoff = AS_OF - dt.timedelta(days=HORIZON)
    assert validation["recency_auc"] == pytest.approx(recency_auc(history, cutoff, AS_OF), abs=5e-5)
    assert validation["status"] == "passed" and status["used"] == "model" and notes == []
    assert status["weights"]["complaints_90d"] > 0
    # Out of sample: the 90 days after the as-of date, in the file, never seen by the grading.
    later = history.bought_between(AS_OF, AS_OF + dt.timedelta(days=HORIZON))
    ids = sorted(rows)
    left = [cid not in later for cid in ids]
    assert 0.2 < float(np.mean(left)) < 0.8
    served = roc_auc_score(left, [rows[cid]["risk"] for cid in ids])
    recency = recency_auc(history, AS_OF, AS_OF + dt.timedelta(days=HORIZON))
    assert served > recency
    complained = [cid for cid in ids if cid in later and rows[cid]["signals"].startswith("complaints_90d=1")]
    assert not complained  # a recent complainer named for it has indeed stopped buying


def test_the_backtest_says_whether_a_grading_would_use_the_model(tmp_path: Path) -> None:
    for history, used in (
        (recency_rules(tmp_path / "r"), "recency_baseline"),
        (complaints_rule(tmp_path / "k"), "model"),
    ):
        report = churn_backtest(history.orders, AS_OF.isoformat(), f"{HORIZON}D", interactions=history.interactions)
        assert {"model", "recency", "p_alive"} <= report.keys()
        train_cut = dt.date.fromisoformat(report["train_cutoff"])
        assert report["validation"]["validated_as_of"] == report["train_cutoff"]
        assert report["validation"]["recency_auc"] == pytest.approx(
            recency_auc(history, train_cut, dt.date.fromisoformat(report["test_cutoff"])), abs=5e-5
        )
        assert report["used"] == used


def test_too_little_history_is_a_clear_error_naming_the_dates(tmp_path: Path) -> None:
    """Orders from 60 days before the as-of date: a 90D model trains as of 2026-07-02 and needs
    orders from 2026-04-03 on (one horizon before it). Worked out by hand from docs/churn.md."""
    rng = np.random.default_rng(1)
    orders: list[dict[str, Any]] = []
    for i in range(50):
        buying(
            rng, f"S{i:03d}", AS_OF - dt.timedelta(days=60), AS_OF - dt.timedelta(days=int(rng.integers(0, 60))), orders
        )
    history = write(tmp_path / "short", orders, [])
    with pytest.raises(PolicyError) as raised:
        churn_columns(history)
    message = str(raised.value)
    assert message.startswith(f"{WHERE}: the churn model cannot be trained: training as of 2026-07-02 needs orders")
    assert "from 2026-04-03 on" in message and "the first order is on 2026-08-01" in message
    assert "\n" not in message and "grade" in message
    with pytest.raises(
        InputError, match=r"--horizon 90D is too long.*training as of 2026-04-03 needs orders from 2026-01-03"
    ):
        churn_backtest(history.orders, AS_OF.isoformat(), "90D")


def test_the_validation_needs_history_of_its_own_and_falls_back_without_it(tmp_path: Path) -> None:
    """A history long enough to train as of 2026-07-02 (from 2026-04-03 on) but not to validate
    (a model as of 2026-04-03 would need orders from 2026-01-03): served is the baseline."""
    rng = np.random.default_rng(2)
    orders: list[dict[str, Any]] = []
    first = dt.date(2026, 3, 1)
    for i in range(200):
        buying(rng, f"V{i:03d}", first, first + dt.timedelta(days=int(rng.integers(20, 300))), orders)
    history = write(tmp_path / "v", orders, [])
    _, notes, models = churn_columns(history)
    validation = models["churn"]["validation"]
    assert validation["status"] == "not_enough_history" and models["churn"]["used"] == "recency_baseline"
    assert "needs orders from 2026-01-03 on" in validation["detail"] and "2026-03-01" in validation["detail"]
    assert len(notes) == 1 and "could not be validated" in notes[0]


def test_a_kind_with_nothing_to_say_hands_back_no_note(tmp_path: Path) -> None:
    """The CLV builder returns a bare table: the engine adds no note and no status for it."""
    history = recency_rules(tmp_path / "clv", customers=60)
    engine = connect("duckdb")
    inputs = read_inputs(engine, history.orders)
    notes: list[str] = []
    models: dict[str, Any] = {}
    spec = {"p_alive": MetricSpec.model_validate({"clv": "p_alive"})}
    table = plugin_columns("clv", inputs, AS_OF, spec, WHERE, notes, models)
    assert "__clv_p_alive" in table.columns and notes == [] and models == {}


def test_the_fallback_is_said_in_the_manifest_the_grading_notes_and_on_the_card(tmp_path: Path) -> None:
    from tierkit.app.grading import grade_workspace
    from tierkit.app.runs import card
    from tierkit.app.workspaces import init

    history = recency_rules(tmp_path / "recency")
    ws = tmp_path / "ws"
    init(ws, "retail")
    (ws / "data" / "orders.parquet").write_bytes(history.orders.read_bytes())
    policy = """name: churn-watch
metrics:
  churn_risk: {churn: risk, horizon: 90D}
  churn_signals: {churn: signals, horizon: 90D}
tiers:
  - {name: watch, when: "churn_risk >= 0.5"}
  - {name: fine, else: true}
"""
    (ws / "policy.yaml").write_text(policy, "utf-8")
    summary = grade_workspace(ws, as_of=AS_OF.isoformat(), orders=ws / "data" / "orders.parquet")
    assert any("recency baseline" in w for w in summary["warnings"])
    manifest = json.loads(next((ws / "runs").glob("2*/manifest.json")).read_text("utf-8"))
    assert manifest["models"]["churn"]["used"] == "recency_baseline"
    assert any("recency baseline" in w for w in manifest["warnings"])
    first = sorted(history.last_order(AS_OF))[0]
    shown = card(ws, first, lang="en")
    assert shown["model_notes"] and "recency baseline" in shown["model_notes"][0]
    assert f"{manifest['models']['churn']['validation']['model_auc']}" in shown["model_notes"][0]
