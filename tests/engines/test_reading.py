"""The same CSV is split and typed the same way on every engine; bad files fail with the row."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierkit.backends import Backend
from tierkit.errors import InputError
from tierkit.tables.readers import read_table

RFC4180 = (
    "\ufefforder_id,customer_id,ordered_at,amount,category\r\n"
    '1,007,2024-01-05,10.50,"家电, 大件"\r\n'
    '2,007,2024-01-06 10:00:00,3.25,"说明 ""特价""\r\n第二行"\r\n'
    "3,08X,2024-01-07,99,食品\r\n"
)


def rows(engine: Backend, path: Path) -> list[dict[str, object]]:
    table = read_table(engine, "orders", path).table
    return sorted(engine.to_pyarrow(table).to_pylist(), key=lambda r: str(r.get("order_id") or r["customer_id"]))


def test_rfc4180_quotes_newlines_bom_and_crlf(engine: Backend, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(RFC4180.encode("utf-8"))
    got = rows(engine, path)
    assert [r["customer_id"] for r in got] == ["007", "007", "08X"]
    assert got[0]["category"] == "家电, 大件"
    assert got[1]["category"] == '说明 "特价"\n第二行'  # CRLF inside a cell is LF on every engine
    assert str(got[1]["ordered_at"]) == "2024-01-06" and str(got[2]["amount"]) == "99.00"


def test_tab_separated(engine: Backend, tmp_path: Path) -> None:
    path = tmp_path / "orders.tsv"
    path.write_text("customer_id\tordered_at\tamount\n001\t2024-01-05\t1234.50\n", "utf-8")
    got = rows(engine, path)
    assert got[0]["customer_id"] == "001" and str(got[0]["amount"]) == "1234.50"


EXPORTED = [  # (ordered_at, amount) as Chinese CRM, billing and spreadsheet exports write them
    ("2024-01-05", "¥1,234.50", "2024-01-05", "1234.50"),
    ("2024/1/5", "￥1 234", "2024-01-05", "1234.00"),
    ("2024.1.5", "RMB 100", "2024-01-05", "100.00"),
    ("2024年1月5日", "100元", "2024-01-05", "100.00"),
    ("20240105", "1.2万", "2024-01-05", "12000.00"),
    ("45296", "(12.50)", "2024-01-05", "-12.50"),
    ("2024-01-05 10:00:00", "12.345", "2024-01-05", "12.35"),
    ("2024-1-5", "12.34499", "2024-01-05", "12.34"),
    ("2024-01-05T23:59:59", "-5", "2024-01-05", "-5.00"),
]


def test_exported_dates_and_amounts(engine: Backend, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    lines = ["order_id,customer_id,ordered_at,amount,discount"]
    lines += [f'{i},c{i},"{d}","{a}",10%' for i, (d, a, _, _) in enumerate(EXPORTED)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    got = rows(engine, path)
    assert [(str(r["ordered_at"]), str(r["amount"])) for r in got] == [(d, a) for _, _, d, a in EXPORTED]
    assert {str(r["discount"]) for r in got} == {"0.1000"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "order_id,customer_id,ordered_at,amount\n1,a,2024-01-01,5\n2,b,2024-01-02,6,EXTRA\n",
            r"row 2 \(line 3\) has 5 fields, the header has 4",
        ),
        (
            "order_id,customer_id,ordered_at,amount\n1,a,2024-01-01,5\n2,b,2024-01-02\n",
            r"row 2 \(line 3\) has 3 fields, the header has 4",
        ),
        ("customer_id,ordered_at,amount\na,,5\n", r"row 1 \(line 2\): ordered_at: empty, and orders need it"),
        ("customer_id,amount,ordered_at,amount\na,1,2024-01-01,2\n", r"line 1: column 'amount' appears 2 times"),
    ],
)
def test_broken_csv_names_the_row(engine: Backend, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(text, "utf-8")
    with pytest.raises(InputError, match=message):
        rows(engine, path)


def test_chinese_and_english_headers(engine: Backend, tmp_path: Path) -> None:
    path = tmp_path / "订单.csv"
    path.write_text("订单号,客户编号,下单时间,实付金额,渠道\nA1,0012,2024/1/5,¥1,电商\n", "utf-8")
    got = rows(engine, path)
    assert got[0]["customer_id"] == "0012" and got[0]["order_id"] == "A1" and got[0]["channel"] == "电商"
    path.write_text("Customer ID,Order Date,Amount\n0012,2024-01-05,5\n", "utf-8")
    assert rows(engine, path)[0]["customer_id"] == "0012"
    path.write_text("客户编号,会员号,日期,金额\n1,2,2024-01-05,5\n", "utf-8")
    with pytest.raises(InputError, match="columns '客户编号' and '会员号' both mean customer_id"):
        rows(engine, path)


ZONED = [  # (cell, date in Beijing (+08:00), date in UTC)
    ("2024-01-05T23:30:00Z", "2024-01-06", "2024-01-05"),
    ("2024-01-05 23:30:00+08:00", "2024-01-05", "2024-01-05"),
    ("2024-01-05T20:00:00-05:00", "2024-01-06", "2024-01-06"),
    ("2024-01-05T15:59:59.5+0000", "2024-01-05", "2024-01-05"),
    ("2024-01-05T16:00:00+00:00", "2024-01-06", "2024-01-05"),
    ("2024-01-05 23:30:00", "2024-01-05", "2024-01-05"),  # no zone named: the date it shows
]


@pytest.mark.parametrize(("offset", "column"), [(480, 1), (0, 2)])
def test_timestamps_that_name_their_zone_move_to_the_policy_zone(
    engine: Backend, tmp_path: Path, offset: int, column: int
) -> None:
    path = tmp_path / "orders.csv"
    lines = ["order_id,customer_id,ordered_at,amount"] + [f"{i},c,{z[0]},1" for i, z in enumerate(ZONED)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    table = read_table(engine, "orders", path, to_minutes=offset).table
    got = sorted(engine.to_pyarrow(table).to_pylist(), key=lambda r: int(r["order_id"]))
    assert [str(r["ordered_at"]) for r in got] == [z[column] for z in ZONED]


def test_parquet_instants_take_their_date_in_the_policy_zone(engine: Backend, tmp_path: Path) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    instants = [dt.datetime(2024, 1, 5, 20, 0, tzinfo=dt.UTC), dt.datetime(2024, 1, 5, 15, 0, tzinfo=dt.UTC)]
    path = tmp_path / "orders.parquet"
    pq.write_table(
        pa.table(
            {
                "order_id": ["1", "2"],
                "customer_id": ["c", "c"],
                "ordered_at": pa.array(instants, pa.timestamp("us", tz="UTC")),
                "amount": pa.array([1, 1], pa.int64()),
            }
        ),
        path,
    )
    got = sorted(engine.to_pyarrow(read_table(engine, "orders", path).table).to_pylist(), key=lambda r: r["order_id"])
    assert [str(r["ordered_at"]) for r in got] == ["2024-01-06", "2024-01-05"]


@pytest.mark.parametrize("name", ["orders[1]", "o*{a}?"])
def test_names_like_patterns_read_that_very_file(engine: Backend, tmp_path: Path, name: str) -> None:
    """Both engines take * ? [ (Spark also { }) in a path as a pattern; the file named is read,
    never a neighbour the pattern would match."""
    folder = tmp_path / "q[1]"
    folder.mkdir()
    (folder / f"{name}.csv").write_text("customer_id,ordered_at,amount\nreal,2024-01-05,1\n", "utf-8")
    (folder / "orders1.csv").write_text("customer_id,ordered_at,amount\ndecoy,2024-01-05,1\n", "utf-8")
    assert [r["customer_id"] for r in rows(engine, folder / f"{name}.csv")] == ["real"]
    parts = folder / "parts[x]"
    parts.mkdir()
    import duckdb

    duckdb.sql(
        f"COPY (SELECT 'p' AS customer_id, DATE '2024-01-05' AS ordered_at, 2.5 AS amount) TO '{parts}/a.parquet'"
    )
    assert [r["customer_id"] for r in rows(engine, parts)] == ["p"]


def test_parts_with_different_columns_and_pattern_names_read_as_one(engine: Backend, tmp_path: Path) -> None:
    """Import reads earlier parts together: columns matched by name, names holding [ read as written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": ["1", "2"]}), tmp_path / "x[1].parquet")
    pq.write_table(pa.table({"a": ["3"], "b": [7]}), tmp_path / "y.parquet")
    pq.write_table(pa.table({"a": ["never"]}), tmp_path / "x1.parquet")  # what x[1] would match as a pattern
    table = engine.read_parts([tmp_path / "x[1].parquet", tmp_path / "y.parquet"])
    rows = sorted(engine.to_pyarrow(table.select("a", "b")).to_pylist(), key=lambda r: r["a"])
    assert rows == [{"a": "1", "b": None}, {"a": "2", "b": None}, {"a": "3", "b": 7}]


def test_the_spark_backend_hands_its_session_to_splink(engine: Backend) -> None:
    """Linking on Spark gives splink the backend's SparkSession: the one place that reaches into
    the Ibis PySpark backend for it is SparkBackend.session."""
    if engine.name != "spark":
        return
    from pyspark.sql import SparkSession

    from tierkit.backends.spark import SparkBackend

    assert isinstance(engine, SparkBackend) and isinstance(engine.session, SparkSession)
    assert engine.session.conf.get("spark.sql.session.timeZone") == "UTC"
