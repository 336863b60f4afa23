"""The churn reasons a card lists: only signals the customer shows, with the customer's own value.

The model here is made by hand, so that the expected reasons are worked out by hand from the
rule of docs/churn.md (weight × (value − mean) / scale > 0, and the value on the leaving side of
the mean), not taken from the code: `late_payments_12m` gets a spurious negative weight, the
case of issue 11 where a customer with no late payment was told "付款延迟".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierkit.backends import Backend, connect
from tierkit.models.churn_model import ChurnModel
from tierkit.models.churn_signals import catalogue, reason_words, reasons_text

# numpy's warnings from the churn code are errors (issue 11: "Mean of empty slice"); the CLV fit's
# optimizer may overflow exp() on a trial step it then rejects, which is not the churn code's.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning:tierkit.models.churn")

NAMES = ["late_payments_12m", "recency_days", "p_alive", "spend_12m", "order_trend_90d"]
MEAN = np.array([0.5, 100.0, 0.6, 500.0, 1.0])
SCALE = np.array([1.0, 50.0, 0.2, 100.0, 0.5])
CUSTOMERS = {
    #        late  recency p_alive spend    trend
    "A": (0, 200, 0.35, 450.5, 0.125),
    "B": (2, 50, 0.9, 800.0, 2.0),
    "C": (None, 120, None, -3.456, None),
}


def spurious() -> ChurnModel:
    """Late payments *lower* the risk here (weight −1), as a few late payers who stayed can make a
    fit say; the other weights point the way their signals do."""
    return ChurnModel(NAMES, MEAN, SCALE, np.array([-1.0, 1.0, -0.5, -0.2, -0.3]), 0.0)


def sensible() -> ChurnModel:
    """The same model with late payments raising the risk (weight +1)."""
    return ChurnModel(NAMES, MEAN, SCALE, np.array([1.0, 1.0, -0.5, -0.2, -0.3]), 0.0)


# Worked out by hand (contribution = weight × (value − mean) / scale; NULL reads as the mean):
#   spurious, A: late 0: −1·(0−0.5)/1 = +0.5 but 0 is below the mean of an "up" signal: not named;
#                recency +2.0, p_alive −0.5·(0.35−0.6)/0.2 = +0.625, trend −0.3·(0.125−1)/0.5 = +0.525,
#                spend −0.2·(450.5−500)/100 = +0.099 (fourth: left out)
#   spurious, B: every contribution is negative (late −1.5, recency −1, p_alive −0.75, ...): none
#   spurious, C: spend −0.2·(−3.456−500)/100 = +1.00691, recency +0.4; the NULLs add nothing
#   sensible, A: late +1·(0−0.5) = −0.5: not named (a count of 0 never is); the rest as above
#   sensible, B: late +1.5 and 2 lies above the mean: named, alone
EXPECTED = {
    "spurious": {
        "A": "recency_days=200;p_alive=0.35;order_trend_90d=0.13",
        "B": "",
        "C": "spend_12m=-3.46;recency_days=120",
    },
    "sensible": {
        "A": "recency_days=200;p_alive=0.35;order_trend_90d=0.13",
        "B": "late_payments_12m=2",
        "C": "spend_12m=-3.46;recency_days=120",
    },
}


def signal_table(folder: Path) -> Path:
    rows = [dict(customer_id=cid, **dict(zip(NAMES, values, strict=True))) for cid, values in CUSTOMERS.items()]
    schema = pa.schema(
        [("customer_id", pa.string()), ("late_payments_12m", pa.int64()), ("recency_days", pa.int64())]
        + [(name, pa.float64()) for name in NAMES[2:]]
    )
    path = folder / "signals.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def reasons_on(engine: Backend, path: Path) -> dict[str, dict[str, Any]]:
    table = engine.read_parquet(path)
    found = {}
    for label, model in (("spurious", spurious()), ("sensible", sensible())):
        scored = engine.to_pyarrow(table.select("customer_id", why=reasons_text(model, table)).order_by("customer_id"))
        found[label] = dict(zip(scored["customer_id"].to_pylist(), scored["why"].to_pylist(), strict=True))
    return found


def test_a_spurious_weight_never_names_a_signal_the_customer_does_not_show(tmp_path: Path) -> None:
    assert reasons_on(connect("duckdb"), signal_table(tmp_path)) == EXPECTED


def test_the_words_carry_the_customers_own_values() -> None:
    assert reason_words("late_payments_12m=2;recency_days=210", "zh") == [
        "付款延迟 2 次 / 12 个月",
        "距上次购买 210 天",
    ]
    assert reason_words("late_payments_12m=2;recency_days=210", "en") == [
        "Paid late 2 times in 12 months",
        "210 days since the last order",
    ]
    assert reason_words("p_alive=0.35;spend_12m=1234.50;order_trend_90d=0.13", "zh") == [
        "仍活跃的概率降至 35%",
        "近一年消费仅 1,234.50",
        "近90天购买次数为之前90天的 13%",
    ]
    assert reason_words("complaints_90d=3", "en") == ["3 complaints in 90 days"]
    assert reason_words("", "zh") == [] and reason_words(None, "en") == []


def test_runs_written_before_values_were_carried_still_read() -> None:
    """Old results hold 'recency_days,orders_180d' (names only): the card shows the names' words."""
    assert reason_words("recency_days,orders_180d", "zh") == ["久未购买", "近半年购买少"]
    assert reason_words("recency_days,orders_180d", "en") == ["Long since the last order", "Few orders in 180 days"]


def test_every_signal_has_a_direction_and_words_with_its_value() -> None:
    signals = catalogue()
    assert "categories_declining" in signals and signals["categories_declining"].metric is None
    for name, signal in signals.items():
        assert signal.leaving in ("up", "down"), name
        for lang in ("zh", "en"):
            assert "{value" in signal.words[lang] and signal.label[lang], (name, lang)
            assert signal.say(7, lang) != signal.say(8, lang), (name, lang)  # the value shows
