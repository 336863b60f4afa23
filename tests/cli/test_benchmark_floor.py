"""The benchmark's floor (the `retail` policy written by hand in SQL) must grade as tierkit does;
otherwise the ratio it reports would compare different work."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import duckdb
import pytest

from tests.cli.benchmark_scripts import load_script
from tierkit.app.grading import grade


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script("grade")


def test_by_hand_sql_grades_like_tierkit(bench: ModuleType, tmp_path: Path) -> None:
    orders = tmp_path / "orders.parquet"
    bench.make_orders(orders, 200_000, seed=7)
    graded = tmp_path / "graded.parquet"
    grade(orders, policy="retail", as_of=bench.AS_OF).write(graded)
    by_hand = tmp_path / "by_hand.parquet"
    duckdb.connect().execute(bench.by_hand(orders, by_hand))
    assert bench.same_grades(graded, by_hand)
    same_file = tmp_path / "same_file.parquet"
    duckdb.connect().execute(bench.by_hand(orders, same_file, same_file=True))
    assert bench.same_rows(graded, same_file)  # every column, type, row and order
    slowing = duckdb.sql(f"SELECT count(*) FILTER (WHERE tag_slowing_down) FROM '{graded}'").fetchone()
    assert slowing is not None and slowing[0] > 0
    tiers = duckdb.sql(f"SELECT count(DISTINCT tier), count(DISTINCT abc), count(DISTINCT pyramid) FROM '{graded}'")
    assert tiers.fetchone() == (3, 3, 4)  # every class occurs, so agreeing is not trivial


def test_a_changed_grade_is_noticed(bench: ModuleType, tmp_path: Path) -> None:
    orders = tmp_path / "orders.parquet"
    bench.make_orders(orders, 20_000, seed=3)
    graded, by_hand = tmp_path / "graded.parquet", tmp_path / "by_hand.parquet"
    grade(orders, policy="retail", as_of=bench.AS_OF).write(graded)
    duckdb.connect().execute(bench.by_hand(orders, by_hand))
    tampered = tmp_path / "tampered.parquet"
    duckdb.sql(
        f"COPY (SELECT * REPLACE (CASE WHEN row_number() OVER (ORDER BY customer_id) = 1 THEN 'X' ELSE abc END AS abc)"
        f" FROM '{by_hand}') TO '{tampered}' (FORMAT parquet)"
    )
    assert not bench.same_grades(graded, tampered)


def test_a_changed_cell_or_order_is_noticed_in_the_same_file(bench: ModuleType, tmp_path: Path) -> None:
    orders = tmp_path / "orders.parquet"
    bench.make_orders(orders, 20_000, seed=5)
    graded, same_file = tmp_path / "graded.parquet", tmp_path / "same_file.parquet"
    grade(orders, policy="retail", as_of=bench.AS_OF).write(graded)
    duckdb.connect().execute(bench.by_hand(orders, same_file, same_file=True))
    assert bench.same_rows(graded, same_file)
    reordered, retyped = tmp_path / "reordered.parquet", tmp_path / "retyped.parquet"
    duckdb.sql(f"COPY (SELECT * FROM '{same_file}' ORDER BY customer_id DESC) TO '{reordered}' (FORMAT parquet)")
    duckdb.sql(
        f"COPY (SELECT * REPLACE (CAST(loyal_years AS INTEGER) AS loyal_years) FROM '{same_file}') TO '{retyped}'"
    )
    assert not bench.same_rows(graded, reordered) and not bench.same_rows(graded, retyped)
