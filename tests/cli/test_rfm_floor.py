"""The RFM benchmark's floor (the `rfm` preset written by hand in SQL, benchmarks/rfm_by_hand.sql)
must score as tierkit does; otherwise the ratio benchmarks/rfm.py reports would compare
different work."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import duckdb
import pytest

from tests.cli.benchmark_scripts import beside_benchmarks, load_script
from tierkit.app.grading import grade


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script("rfm")


def test_the_rfm_floor_scores_like_tierkit_and_a_changed_score_is_noticed(bench: ModuleType, tmp_path: Path) -> None:
    with beside_benchmarks():
        from grade import AS_OF, make_orders
    orders = tmp_path / "orders.parquet"
    make_orders(orders, 100_000, seed=11)
    graded, by_hand = tmp_path / "graded.parquet", tmp_path / "by_hand.parquet"
    grade(orders, policy="rfm", as_of=AS_OF).write(graded)
    duckdb.connect().execute(bench.by_hand(orders, by_hand))
    assert bench.same_rfm(graded, by_hand)
    spread = duckdb.sql(
        f"SELECT count(DISTINCT rfm_segment), count(DISTINCT rfm_r), count(DISTINCT rfm_m) FROM '{graded}'"
    )
    assert spread.fetchone() == (10, 5, 5)  # every segment and score occurs: agreeing is not trivial
    tampered = tmp_path / "tampered.parquet"
    duckdb.sql(
        f"COPY (SELECT * REPLACE (CASE WHEN row_number() OVER (ORDER BY customer_id) = 7 THEN rfm_m % 5 + 1 "
        f"ELSE rfm_m END AS rfm_m) FROM '{by_hand}') TO '{tampered}' (FORMAT parquet)"
    )
    assert not bench.same_rfm(graded, tampered)
