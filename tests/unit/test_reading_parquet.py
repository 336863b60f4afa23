"""Parquet values that do not fit the canonical types fail with the field, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierkit.backends import connect
from tierkit.errors import InputError
from tierkit.tables.readers import read_table

ENGINE = connect("duckdb")


def parquet(tmp_path: Path, **columns: pa.Array) -> Path:
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def test_integer_ids_become_text(tmp_path: Path) -> None:
    path = parquet(
        tmp_path,
        customer_id=pa.array([7, 8]),
        ordered_at=pa.array(["2024-01-01", "2024-01-02"]),
        amount=pa.array([1.5, 2.0]),
    )
    got = ENGINE.to_pyarrow(read_table(ENGINE, "orders", path).table).to_pylist()
    assert [r["customer_id"] for r in got] == ["7", "8"]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"amount": pa.array([1.0, float("nan")])}, r"amount: 'nan' is not a valid decimal \(1 such rows\)"),
        ({"amount": pa.array([1.0, 1e17])}, r"amount: '1e\+17' is not a valid decimal"),
        ({"ordered_at": pa.array([20240105, 20240106])}, r"ordered_at: '20240105' is not a valid date"),
        ({"customer_id": pa.array([12.0, 13.0])}, r"customer_id is stored as a floating number"),
    ],
)
def test_values_that_do_not_fit(tmp_path: Path, columns: dict[str, pa.Array], message: str) -> None:
    base = {
        "customer_id": pa.array(["a", "b"]),
        "ordered_at": pa.array(["2024-01-01", "2024-01-02"]),
        "amount": pa.array([1.0, 2.0]),
    }
    path = parquet(tmp_path, **{**base, **columns})
    with pytest.raises(InputError, match=message):
        read_table(ENGINE, "orders", path)


def test_repeated_order_ids_keep_one_copy_and_say_so(tmp_path: Path) -> None:
    path = parquet(
        tmp_path,
        order_id=pa.array(["o1", "o1", "o2"]),
        customer_id=pa.array(["a", "a", "b"]),
        ordered_at=pa.array(["2024-01-01"] * 3),
        amount=pa.array([100.0, 50.0, 1.0]),
    )
    source = read_table(ENGINE, "orders", path)
    assert source.duplicates == 1 and ENGINE.execute_scalar(source.table.count()) == 2
    assert "1 rows repeat an earlier order_id" in source.warnings[0]
    assert "1 copies differ from the kept one, e.g. order_id 'o1'" in source.warnings[0]


def test_repeated_customer_is_named(tmp_path: Path) -> None:
    path = tmp_path / "customers.parquet"
    pq.write_table(pa.table({"customer_id": ["a", "b", "b"]}), path)
    with pytest.raises(InputError, match=r"customer_id 'b' appears more than once"):
        read_table(ENGINE, "customers", path)


def test_explicit_maps_win_over_synonyms(tmp_path: Path) -> None:
    path = parquet(
        tmp_path,
        账户=pa.array(["x"]),
        日期=pa.array(["2024-01-01"]),
        金额=pa.array([1.0]),
        客户编号=pa.array(["ignored"]),
    )
    chosen = ENGINE.to_pyarrow(read_table(ENGINE, "orders", path, maps={"账户": "customer_id"}).table).to_pylist()
    assert chosen[0]["customer_id"] == "x"  # the map wins; 客户编号 is left out, not a clash
    path = parquet(tmp_path, 账户=pa.array(["x"]), 日期=pa.array(["2024-01-01"]), 金额=pa.array([1.0]))
    got = ENGINE.to_pyarrow(read_table(ENGINE, "orders", path, maps={"账户": "customer_id"}).table).to_pylist()
    assert got[0]["customer_id"] == "x" and str(got[0]["amount"]) == "1.00"
    with pytest.raises(InputError, match="--map names '帐户', which is not a column"):
        read_table(ENGINE, "orders", path, maps={"帐户": "customer_id"})
