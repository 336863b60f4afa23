"""Inputs given as URIs (`--orders s3a://...`): Spark reads them as given, and grades them exactly
as it grades the same file by its local path (the oracle: the local path's output, which the
engine-parity suite ties to DuckDB's). What cannot be read is one line naming the URI, exit 2.

`file://` URIs stand in for object storage: they take the same path through tierkit (nothing
opened on the driver, the URI handed to Spark as text), and Spark resolves them with the one
Hadoop filesystem every installation has.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.engines.fixtures import AS_OF, CUSTOMERS, INTERACTIONS, ORDERS, POLICY
from tierkit.backends import Backend
from tierkit.cli.app import app
from tierkit.errors import InputError, TierkitError
from tierkit.tables.readers import read_table

ON_SPARK = pytest.mark.parametrize("engine", ["spark"], indirect=True)  # the shared session of tests/engines
# 2024-06-30 18:00 UTC is 2024-07-01 02:00 at +08:00 (the policy's zone): after the as-of date.
# Read as an instant (as the local path reads it) customer 009 has no order yet and is not graded.
LATE = {"order_id": "Z1", "customer_id": "009", "ordered_at": "2024-06-30T18:00:00", "amount": "10.00"}


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text if "T" in text else f"{text}T00:00:00").replace(tzinfo=dt.UTC)


def _orders() -> pa.Table:
    rows = [*ORDERS, LATE]
    columns = ("order_id", "customer_id", "amount", "category", "paid_at", "due_at")
    table = {name: [str(row.get(name, "")) for row in rows] for name in columns}
    stamps = pa.array([_instant(str(row["ordered_at"])) for row in rows], pa.timestamp("us", tz="UTC"))
    return pa.table({**table, "ordered_at": stamps})


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine fixture as Parquet orders (one file, and the same rows as a folder of two
    parts), its customers and interactions as CSV, and its policy."""
    folder = tmp_path_factory.mktemp("uri-shop")
    orders = _orders()
    pq.write_table(orders, folder / "orders.parquet")
    (folder / "parts").mkdir()
    pq.write_table(orders.slice(0, 10), folder / "parts" / "part-0.parquet")
    pq.write_table(orders.slice(10), folder / "parts" / "part-1.parquet")
    _write_csv(folder / "customers.csv", CUSTOMERS)
    _write_csv(folder / "interactions.csv", INTERACTIONS)
    (folder / "policy.yaml").write_text(POLICY, "utf-8")
    return folder


def grade(shop: Path, out: Path, orders: str, customers: str, engine: str = "spark") -> bytes:
    done = CliRunner().invoke(
        app,
        [
            "grade", "--engine", engine, "--policy", str(shop / "policy.yaml"), "--as-of", AS_OF,
            "--orders", orders, "--customers", customers,
            "--interactions", str(shop / "interactions.csv"), "--output", str(out),
        ],
    )  # fmt: skip
    if done.exception is not None:
        raise done.exception
    return out.read_bytes()


@ON_SPARK
def test_uris_grade_byte_identical_to_local_paths(engine: Backend, shop: Path, tmp_path: Path) -> None:
    local = grade(shop, tmp_path / "local.csv", str(shop / "orders.parquet"), str(shop / "customers.csv"))
    assert b"\n009," not in local and b"\n001," in local  # the late order read as an instant, as it is
    file_uri = grade(shop, tmp_path / "file.csv", (shop / "orders.parquet").as_uri(), (shop / "customers.csv").as_uri())
    assert file_uri == local
    parts_uri = grade(shop, tmp_path / "parts.csv", (shop / "parts").as_uri() + "/", str(shop / "customers.csv"))
    assert parts_uri == local


def _refused(shop: Path, tmp_path: Path, orders: str, engine: str = "spark") -> str:
    with pytest.raises(TierkitError) as raised:
        grade(shop, tmp_path / "out.csv", orders, str(shop / "customers.csv"), engine)
    assert raised.value.exit_code == 2
    said = str(raised.value)
    assert "\n" not in said and said.startswith(f"{orders}: "), said
    assert not (tmp_path / "out.csv").exists()
    return said


@ON_SPARK
def test_a_missing_file_uri_is_one_line(engine: Backend, shop: Path, tmp_path: Path) -> None:
    said = _refused(shop, tmp_path, (shop / "no-such.parquet").as_uri())
    assert "no such file or folder" in said and "Path does not exist" in said


@ON_SPARK
def test_s3a_without_its_connector_says_what_to_install(engine: Backend, shop: Path, tmp_path: Path) -> None:
    said = _refused(shop, tmp_path, "s3a://tierkit-test-bucket/orders.parquet")
    assert "no filesystem for s3a://" in said and "org.apache.hadoop:hadoop-aws" in said, said


@ON_SPARK
def test_a_gbk_csv_uri_is_refused_with_the_reason(engine: Backend, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes("会员编号,日期,金额\n001,2024-01-05,10\n".encode("gbk"))
    with pytest.raises(InputError, match=r"line 1 is not UTF-8 \(GBK or UTF-16\?\).*Parquet"):
        read_table(engine, "orders", path.as_uri())


def test_duckdb_refuses_a_uri_in_one_line(shop: Path, tmp_path: Path) -> None:
    said = _refused(shop, tmp_path, (shop / "orders.parquet").as_uri(), engine="duckdb")
    assert "--engine spark" in said and "local path" in said


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("s3a://b/orders.xlsx", "Excel workbook"),
        ("s3a://b/orders.txt", "delimiter is sniffed"),
        ("gs://b/orders.json", "unknown file type '.json'"),
    ],
)
def test_what_needs_the_driver_is_refused_before_any_engine_runs(uri: str, reason: str) -> None:
    from tierkit.backends import connect

    with pytest.raises(InputError, match=reason) as raised:
        read_table(connect("duckdb"), "orders", uri)
    assert str(raised.value).startswith(f"{uri}: ")


def test_a_uri_collapsed_by_path_is_named_as_one() -> None:
    from tierkit.backends import connect

    with pytest.raises(InputError, match=r"no such file \(a URI\?"):
        read_table(connect("duckdb"), "orders", Path("s3a://b/orders.parquet"))
