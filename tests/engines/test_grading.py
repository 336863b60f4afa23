"""The same grading on every engine, with values worked out by hand from fixtures.py."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.engines.fixtures import AS_OF, CUSTOMERS, INTERACTIONS, ORDERS, POLICY
from tierkit.backends import Backend
from tierkit.backends.duckdb import DuckDBBackend
from tierkit.engine.grade import grade_inputs
from tierkit.engine.reading import read_inputs
from tierkit.policy.loader import parse_policy
from tierkit.runs.reasons_full import full_reasons
from tierkit.runs.result import write_result


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import csv

    folder = tmp_path_factory.mktemp("shop")
    out = {}
    for name, rows in (("orders", ORDERS), ("interactions", INTERACTIONS), ("customers", CUSTOMERS)):
        fields: list[str] = []
        for row in rows:
            fields += [k for k in row if k not in fields]
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        out[name] = path
    return out


def run(engine: Backend, files: dict[str, Path]) -> dict[str, dict[str, Any]]:
    inputs = read_inputs(engine, files["orders"], files["customers"], files["interactions"])
    grading = grade_inputs(inputs, parse_policy(POLICY, "fixture.yaml"), _date(AS_OF), engine)
    return {row["customer_id"]: row for row in grading.table.to_pylist()}


def _date(text: str) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(text)


@pytest.fixture(scope="module")
def rows(engine: Backend, files: dict[str, Path]) -> dict[str, dict[str, Any]]:
    return run(engine, files)


def test_population_is_customers_with_an_order_by_as_of(rows: dict[str, dict[str, Any]]) -> None:
    assert sorted(rows) == sorted(["001", "002", "003", "004", "0050", "06X", "008"])


def test_windows_end_at_as_of_inclusive_and_start_after(rows: dict[str, dict[str, Any]]) -> None:
    assert rows["004"]["spend_12m"] == Decimal("250.50")  # 2023-06-30 is outside, 07-01 inside
    assert rows["004"]["orders_12m"] == 1
    assert rows["002"]["spend_12m"] == Decimal("500.00")  # ordered on the as-of date
    assert rows["008"]["spend_12m"] == Decimal("0.00") and rows["008"]["orders_12m"] == 0
    assert rows["001"]["spend_12m"] == Decimal("360000.00")
    assert rows["001"]["orders_per_month"] == 13 / 12  # 13 orders, one of them free


def test_order_id_judges_duplicates(rows: dict[str, dict[str, Any]]) -> None:
    assert rows["0050"]["orders_all"] == 2
    assert rows["0050"]["spend_all"] == Decimal("199.98")


def test_metric_kinds(rows: dict[str, dict[str, Any]]) -> None:
    a = rows["001"]
    assert a["recency_days"] == 15 and a["tenure_days"] == 351
    assert a["categories_12m"] == 1 and a["active_months"] == 12
    assert a["loyal_years"] == 1  # 360k in the last 12 months, nothing before
    assert a["order_trend_6m"] == 7 / 6  # 7 orders vs 6 orders
    assert a["avg_order"] == 360000 / 13  # the free order is averaged in
    assert rows["004"]["order_trend_6m"] == 0.0  # none now, one in the 6 months before
    assert rows["008"]["order_trend_6m"] is None  # nothing in the window before: no ratio
    assert rows["06X"]["late_payments"] == 2
    assert rows["002"]["complaints_90d"] == 3 and rows["003"]["complaints_90d"] == 0
    assert rows["0050"]["avg_order"] == pytest.approx(99.99)
    assert rows["004"]["spend_per_order"] == pytest.approx(625.25)


def test_rfm_rank_breaks_ties_by_customer_id(rows: dict[str, dict[str, Any]]) -> None:
    # 7 customers, 3 bins: ntile sizes 3, 2, 2. orders_all: 001=12, 004=0050=06X=2,
    # 002=003=008=1; ascending by (orders_all, customer_id): 002 003 008 004 0050 06X 001
    f = {cid: r["rfm_f"] for cid, r in rows.items()}
    assert f == {"002": 1, "003": 1, "008": 1, "004": 2, "0050": 2, "06X": 3, "001": 3}
    # recency reversed: the most recent (002, 003 on the as-of date) get 3
    assert rows["002"]["rfm_r"] == 3 and rows["003"]["rfm_r"] == 3 and rows["008"]["rfm_r"] == 1
    assert rows["002"]["rfm_segment"] == "best" and rows["008"]["rfm_segment"] == "rest"


def test_rfm_rank_gives_missing_values_the_lowest_score(rows: dict[str, dict[str, Any]]) -> None:
    # avg_90d is missing for 004, 0050, 008 (no order in 90 days): they all score 1, and the four
    # others share the three bins by themselves: 06X 10 and 002 500 -> 1, 003 500 -> 2, 001 -> 3
    scores = {cid: r["rfm_n_f"] for cid, r in rows.items()}
    assert scores == {"004": 1, "0050": 1, "008": 1, "06X": 1, "002": 1, "003": 2, "001": 3}


def test_rfm_value_method_gives_equal_values_equal_scores(rows: dict[str, dict[str, Any]]) -> None:
    # orders_all sorted: 1,1,1,2,2,2,12; breakpoints at positions ceil(7/3)=3 and ceil(14/3)=5 -> 1, 2
    f = {cid: r["rfm_v_f"] for cid, r in rows.items()}
    assert f == {"002": 1, "003": 1, "008": 1, "004": 2, "0050": 2, "06X": 2, "001": 3}


def test_abc_by_share_above(rows: dict[str, dict[str, Any]]) -> None:
    # spend_12m desc: 001 360000, 002 500, 003 500, 004 250.5, 0050 199.98, 06X 20, 008 0
    # 001 has nothing above -> A; everyone else has >= 99% above -> C
    assert rows["001"]["abc"] == "A"
    assert {r["abc"] for cid, r in rows.items() if cid != "001"} == {"C"}


def test_pyramid_by_rank_share(rows: dict[str, dict[str, Any]]) -> None:
    # n = 7: rank*5 <= 7 -> rank 1; rank*5 <= 14 -> 2; rank*5 <= 21 -> 3..4; else 5..7
    got = {cid: r["pyramid"] for cid, r in rows.items()}
    assert got == {
        "001": "key",
        "002": "major",
        "003": "ordinary",
        "004": "ordinary",
        "0050": "small",
        "06X": "small",
        "008": "small",
    }


def test_tiers_tags_and_reasons(rows: dict[str, dict[str, Any]]) -> None:
    assert rows["001"]["tier"] == "vip"
    assert rows["004"]["tier"] == "regular" and rows["008"]["tier"] == "potential"
    assert rows["002"]["tags"] == "complainer" and rows["06X"]["tags"] == "late"
    assert rows["002"]["tag_complainer"] is True and rows["001"]["tags"] == ""
    # the file keeps only what the row and the policy do not say: 001 ranks first of 7, nobody above it
    assert json.loads(rows["001"]["reasons"]) == {"abc": {"share_above": 0.0}, "pyramid": {"rank": 1, "of": 7}}
    policy = parse_policy(POLICY, "fixture.yaml").policy
    why = full_reasons(rows["001"]["reasons"], rows["001"], policy)
    assert why["tier"] == {"rule": "vip", "when": "spend_12m > 100000 and (orders_per_month > 5 or loyal_years >= 1)"}
    # every value any rule, score or tag read, once
    assert why["values"]["spend_12m"] == 360000.0 and why["values"]["loyal_years"] == 1
    assert why["values"]["orders_per_month"] == round(13 / 12, 4)
    assert set(why["values"]) == {
        "spend_12m",
        "orders_per_month",
        "loyal_years",
        "abc",
        "complaints_90d",
        "late_payments",
        "recency_days",
        "orders_all",
        "spend_all",
        "avg_90d",
        "age",
        "region",
    }
    assert why["abc"] == {"score": "abc", "by": "spend_12m", "share_above": 0.0, "class": "A"}
    assert why["pyramid"] == {"score": "pyramid", "by": "spend_12m", "rank": 1, "of": 7, "level": "key"}
    assert full_reasons(rows["008"]["reasons"], rows["008"], policy)["tier"] == {"rule": "potential", "when": "else"}
    complainer = full_reasons(rows["002"]["reasons"], rows["002"], policy)
    assert complainer["tags"] == {"complainer": {"when": "complaints_90d >= 3", "action": "senior agent"}}
    assert complainer["values"]["complaints_90d"] == 3


def test_reasons_written_whole_are_the_lean_ones_rebuilt(
    engine: Backend, files: dict[str, Path], rows: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ways to the same whole reasons: the engine's SQL (TIERKIT_REASONS=full) and the
    reader's rebuild from the lean JSON, the row and the policy (runs.reasons_full)."""
    monkeypatch.setenv("TIERKIT_REASONS", "full")
    whole = run(engine, files)
    policy = parse_policy(POLICY, "fixture.yaml").policy
    assert sorted(whole) == sorted(rows)
    for cid, row in rows.items():
        written = json.loads(whole[cid]["reasons"])
        assert "tier" in written and "values" in written
        assert full_reasons(row["reasons"], row, policy) == written, cid
        others = {k: v for k, v in row.items() if k != "reasons"}
        assert {k: v for k, v in whole[cid].items() if k != "reasons"} == others


def test_engines_give_identical_output(
    engine: Backend, files: dict[str, Path], rows: dict[str, dict[str, Any]]
) -> None:
    """Every column, reasons included, matches the DuckDB result exactly."""
    from tierkit.backends import connect

    reference = run(connect("duckdb"), files)
    assert rows == reference


def test_csv_files_are_byte_identical_across_engines(engine: Backend, files: dict[str, Path], tmp_path: Path) -> None:
    """The whole file-mode path (engine writes Parquet, converted to CSV) gives the same bytes."""
    from tierkit.backends import connect

    summaries: list[dict[str, Any]] = []

    def csv_bytes(eng: Backend, name: str) -> bytes:
        inputs = read_inputs(eng, files["orders"], files["customers"], files["interactions"])
        grading = grade_inputs(inputs, parse_policy(POLICY, "fixture.yaml"), _date(AS_OF), eng)
        out = tmp_path / name
        summary = write_result(grading, out)
        assert summary["customers"] == 7
        summaries.append({k: v for k, v in summary.items() if k != "engine"})
        return out.read_bytes()

    assert csv_bytes(engine, f"{engine.name}.csv") == csv_bytes(connect("duckdb"), "reference.csv")
    assert summaries[0] == summaries[1]  # counts and exact value sums, whichever engine wrote the file


def test_age_and_demographic_bands(rows: dict[str, dict[str, Any]]) -> None:
    ages = {cid: r["age"] for cid, r in rows.items()}
    assert ages["001"] == 34 and ages["002"] == 33 and ages["003"] == 24 and ages["004"] is None
    assert ages["008"] is None  # not in the customers file
    assert {cid: r["age_band"] for cid, r in rows.items() if r["age"] is not None} == {
        "001": "senior",  # 34 is not below 34
        "002": "middle",
        "003": "young",
    }
    areas = {cid: r["area"] for cid, r in rows.items()}
    assert areas["001"] == "south" and areas["002"] == "north" and areas["003"] == "other"
    assert areas["004"] is None and areas["0050"] is None
    assert rows["001"]["gender"] == "女" and rows["004"]["region"] is None


CONSTANT_FILTERS = """
name: constant-filters
metrics:
  orders_all: {count: orders}
  late: {count: orders, where: "paid_at > due_at"}
  late_spend: {sum: amount, where: "paid_at > due_at"}
  unpaid: {count: orders, where: "paid_at is null"}
  unpaid_spend: {sum: amount, where: "paid_at is null", window: 12M}
tiers:
  - {name: late, when: "late > 0"}
  - {name: other, else: true}
"""


def test_filters_on_absent_columns_are_decided_once(engine: Backend, tmp_path: Path) -> None:
    """A file without paid_at/due_at cannot say who paid late or who has not paid: every metric
    that reads them is unknown (NULL, typed as it would be), rules on them do not match, and no
    per-row test is left in the query (issue 12: counting them as 0 or as every row misled)."""
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,ordered_at,amount\nA,2024-06-01,10.50\nA,2023-01-01,5.00\nB,2024-05-01,7.25\n", "utf-8"
    )
    inputs = read_inputs(engine, path)
    grading = grade_inputs(inputs, parse_policy(CONSTANT_FILTERS, "c.yaml"), _date("2024-06-30"), engine)
    rows = {r["customer_id"]: r for r in grading.table.to_pylist()}
    for row in rows.values():
        assert (row["late"], row["late_spend"], row["unpaid"], row["unpaid_spend"]) == (None, None, None, None)
    assert rows["A"]["orders_all"] == 2 and rows["B"]["orders_all"] == 1
    assert {r["tier"] for r in rows.values()} == {"other"}
    assert sum("has no columns 'due_at', 'paid_at'" in w or "has no column 'paid_at'" in w for w in grading.warnings)
    schema = grading.expr.schema()
    assert schema["late"].is_integer() and schema["late_spend"].is_decimal()
    if isinstance(engine, DuckDBBackend):
        sql = engine.sql(grading.expr)
        assert sql.count("FILTER(WHERE") == 0  # nothing is computed for an unknown metric
