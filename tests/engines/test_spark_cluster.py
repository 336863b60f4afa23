"""`tierkit grade --engine spark` on a real standalone cluster (a master and a worker on loopback),
as a user runs it: the CLI in a process of its own with TIERKIT_SPARK_MASTER set. Its output
must be byte for byte DuckDB's, on the engine fixture and on CDNOW's real purchases.

The grading runs in a subprocess because a JVM holds one SparkContext: the local-mode session
the other engine tests share in this pytest worker could not be turned into a cluster's.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.engines.fixtures import AS_OF, CUSTOMERS, INTERACTIONS, ORDERS, POLICY
from tests.engines.spark_cluster import Cluster, java_missing, start_cluster, start_connect_server
from tierkit.backends.spark_session import file_uri, spark_properties
from tierkit.errors import TierkitError

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    missing = java_missing()
    if missing:
        pytest.skip(f"no Spark cluster: {missing}")
    started = start_cluster(tmp_path_factory.mktemp("spark-cluster"))
    try:
        yield started
    finally:
        started.stop()


def grade(folder: Path, output: str, *arguments: str, env: dict[str, str] | None = None) -> Path:
    """`tierkit grade ... --output OUTPUT` in `folder`, as its own process."""
    done = subprocess.run(
        [sys.executable, "-m", "tierkit", "grade", *arguments, "--output", output],
        cwd=folder,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return folder / output


def on_cluster(cluster: Cluster, **more: str) -> dict[str, str]:
    """The settings a user sets to grade on the cluster: its master, and partitions for its one core."""
    return {
        "TIERKIT_SPARK_MASTER": cluster.master_url,
        "TIERKIT_SPARK_PARTITIONS": "2",
        "SPARK_LOCAL_IP": "127.0.0.1",
        **more,
    }


def write_fixture(folder: Path) -> list[str]:
    for name, rows in (("orders", ORDERS), ("interactions", INTERACTIONS), ("customers", CUSTOMERS)):
        fields: list[str] = []
        for row in rows:
            fields += [k for k in row if k not in fields]
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    (folder / "policy.yaml").write_text(POLICY, "utf-8")
    files = ["--orders", "orders.csv", "--customers", "customers.csv", "--interactions", "interactions.csv"]
    return [*files, "--policy", "policy.yaml", "--as-of", AS_OF]


def completed_apps(cluster: Cluster) -> int:
    return sum(1 for app in cluster.state()["completedapps"] if app["name"] == "tierkit")


@pytest.mark.spark
@pytest.mark.xdist_group("spark_cluster")  # one pytest worker starts the cluster and grades on it
def test_the_fixture_graded_on_a_cluster_is_duckdbs_csv_byte_for_byte(cluster: Cluster, tmp_path: Path) -> None:
    """The cluster's default filesystem is set to an HDFS that does not exist, as on YARN: the
    input files and tierkit's own folders must still be read from the local disk (file: URIs).
    And the executors get no Python (a path that does not exist): grading is SQL only, so a
    cluster's executors need nothing but Spark."""
    arguments = write_fixture(tmp_path)
    duckdb = grade(tmp_path, "duckdb.csv", *arguments).read_bytes()
    before = completed_apps(cluster)
    conf = "spark.hadoop.fs.defaultFS=hdfs://127.0.0.1:9"
    no_python = "/nonexistent/python3"  # PYSPARK_PYTHON: what executors would start for Python work
    spark = grade(
        tmp_path,
        "spark.csv",
        "--engine",
        "spark",
        *arguments,
        env=on_cluster(cluster, TIERKIT_SPARK_CONF=conf, PYSPARK_PYTHON=no_python),
    )
    assert spark.read_bytes() == duckdb
    with spark.open(encoding="utf-8") as handle:  # the population worked out by hand in fixtures.py
        graded = sorted(row["customer_id"] for row in csv.DictReader(handle))
    assert graded == sorted(["001", "002", "003", "004", "0050", "06X", "008"])
    assert completed_apps(cluster) == before + 1  # it ran on the cluster's executors, not in local mode


@pytest.mark.spark
@pytest.mark.xdist_group("spark_cluster")
def test_cdnow_graded_on_a_cluster_is_duckdbs_result(cluster: Cluster, tmp_path: Path) -> None:
    """CDNOW's 2,357 real customers with the retail preset: the Parquet both engines write holds
    the same table (schema, every value, row order); the files' bytes differ only by writer."""
    if importlib.util.find_spec("lifetimes") is None:
        pytest.skip("lifetimes (a dev dependency) carries the CDNOW sample")
    spec = importlib.util.spec_from_file_location("bench_cdnow_cluster", BENCHMARKS / "cdnow.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    orders = module.cdnow_orders(tmp_path)
    arguments = ["--orders", orders.name, "--policy", "retail", "--as-of", "1998-06-30"]
    duckdb = pq.read_table(grade(tmp_path, "duckdb.parquet", *arguments))
    spark = pq.read_table(grade(tmp_path, "spark.parquet", "--engine", "spark", *arguments, env=on_cluster(cluster)))
    assert duckdb.num_rows == 2357  # every customer of the sample bought in its first quarter
    assert spark.schema == duckdb.schema
    assert spark.equals(duckdb)


@pytest.mark.spark
@pytest.mark.xdist_group("spark_cluster")
def test_the_fixture_graded_through_spark_connect_is_duckdbs_csv(tmp_path: Path) -> None:
    """TIERKIT_SPARK_MASTER=sc://...: a Connect session, results as Arrow over gRPC. pyspark's
    connect extra (grpcio) is not a tierkit dependency, so this runs only where it is installed."""
    missing = java_missing()
    if missing:
        pytest.skip(f"no Spark Connect server: {missing}")
    if importlib.util.find_spec("grpc") is None:
        pytest.skip("Spark Connect needs pyspark's connect extra: pip install 'pyspark[connect]<4.1'")
    arguments = write_fixture(tmp_path)
    duckdb = grade(tmp_path, "duckdb.csv", *arguments).read_bytes()
    server = start_connect_server(tmp_path)
    try:
        env = {"TIERKIT_SPARK_MASTER": server.master_url, "TIERKIT_SPARK_PARTITIONS": "1"}
        assert grade(tmp_path, "connect.csv", "--engine", "spark", *arguments, env=env).read_bytes() == duckdb
    finally:
        server.stop()


def test_spark_conf_is_read_as_spark_properties() -> None:
    assert spark_properties(None) == {}
    assert spark_properties(" spark.executor.memory = 4g ;\nspark.executor.extraJavaOptions=-Da=1 -Db=2;") == {
        "spark.executor.memory": "4g",
        "spark.executor.extraJavaOptions": "-Da=1 -Db=2",
    }
    assert spark_properties("spark.hadoop.fs.s3a.endpoint=http://minio:9000?a=b") == {
        "spark.hadoop.fs.s3a.endpoint": "http://minio:9000?a=b"  # only the first '=' separates
    }
    with pytest.raises(TierkitError, match=r"'executor.memory=4g' is not a spark.name=value pair"):
        spark_properties("spark.ui.enabled=false;executor.memory=4g")
    with pytest.raises(TierkitError, match=r"'spark.ui.enabled' is not a spark.name=value pair"):
        spark_properties("spark.ui.enabled")


def test_a_local_path_is_a_file_uri_whatever_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert file_uri(Path("data/orders.parquet")) == f"file:{tmp_path}/data/orders.parquet"
    assert file_uri("/mnt/shared/orders 2024.csv") == "file:/mnt/shared/orders 2024.csv"
