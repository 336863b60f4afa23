"""The Spark session behind `--engine spark`: local mode, a cluster's master, or Spark Connect.

A JVM holds one SparkContext, so a process has one session, built once from the process's
settings: `spark_master` (local[N], spark://host:7077, yarn, k8s://..., or sc://host:15002 for
Spark Connect), `spark_partitions` and `spark_conf` (key=value pairs separated by ';'). Spark's
own spark-defaults.conf (in $SPARK_CONF_DIR) is read underneath by spark-submit as usual;
`spark_conf` wins over it and over the properties set here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from tierkit.errors import TierkitError
from tierkit.settings import setting

_session: Any = None

INSTALL_HINT = "the spark engine needs PySpark: pip install 'tierkit[spark]' (pyspark < 4.1)"
CONNECT_HINT = (
    "Spark Connect (sc://...) needs PySpark's connect extra on this machine: pip install 'pyspark[connect]<4.1'"
)


def spark_session() -> Any:
    """The process-wide session: made on first use, the same one after that."""
    global _session
    if _session is not None:
        return _session
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise TierkitError(INSTALL_HINT) from err
    master = setting("spark_master") or "local[2]"
    extra = spark_properties(setting("spark_conf"))
    if master.startswith("sc://"):
        _session = _connect_session(SparkSession, master, extra)
    else:
        _session = _classic_session(SparkSession, master, extra)
    return _session


def spark_properties(text: str | None) -> dict[str, str]:
    """`spark_conf` as properties. Pairs are split on ';' (a Java option list holds spaces and a
    jar list commas, so neither can separate pairs); every Spark property starts with 'spark.'."""
    found: dict[str, str] = {}
    for item in (text or "").replace("\n", ";").split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip().startswith("spark."):
            raise TierkitError(
                f"TIERKIT_SPARK_CONF: '{item.strip()}' is not a spark.name=value pair (separate pairs with ';')"
            )
        found[key.strip()] = value.strip()
    return found


def file_uri(path: str | Path) -> str:
    """A local path as a Hadoop URI. Without the scheme a cluster whose default filesystem is
    HDFS (YARN's usual set-up) looks for the path in HDFS, not on the disk tierkit checked."""
    return "file:" + str(Path(path).absolute())


def _classic_session(builder_of: Any, master: str, extra: dict[str, str]) -> Any:
    """A session whose driver runs in this process: local mode or a cluster's master."""
    if master.startswith("local"):
        # Local mode listens on loopback only. Not on a cluster: executors on other machines
        # must reach the driver at an address of this machine they can route to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warehouse = tempfile.mkdtemp(prefix="tierkit-spark-")
    properties = {
        # The session's time zone reaches the executors with each task; the JVMs' own default
        # zone and TZ are set as well so that nothing on an executor reads the machine's zone.
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={warehouse} -Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executorEnv.TZ": "UTC",
        "spark.sql.warehouse.dir": file_uri(warehouse),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": setting("spark_partitions") or "8",
        "spark.sql.ansi.enabled": "false",
        # The result, one row per customer, comes to the driver by design (toArrow): Spark's 1g cap
        # on collected results would stop a 4M-customer grading (2.2 GB as Arrow) after all its
        # work. The driver's memory (spark.driver.memory) is the limit that matters.
        "spark.driver.maxResultSize": "0",
    }
    jar = similarity_jar()
    if jar:  # splink's string similarity functions (Jaro-Winkler...) for `tierkit link --engine spark`
        properties["spark.jars"] = jar
    properties.update(extra)
    builder = builder_of.builder.appName("tierkit").master(master)
    for key, value in properties.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    if "spark.checkpoint.dir" not in properties:  # splink's checkpoints; on a cluster: shared storage
        session.sparkContext.setCheckpointDir(file_uri(os.path.join(warehouse, "checkpoints")))
    return session


def _connect_session(builder_of: Any, url: str, extra: dict[str, str]) -> Any:
    """A Spark Connect session: the driver runs on the server, only SQL plans and Arrow cross.
    Static properties (jars, Java options) are the server's; runtime ones are set here."""
    try:
        session = builder_of.builder.remote(url).getOrCreate()
    except ImportError as err:  # grpcio and friends: pyspark's connect extra
        raise TierkitError(CONNECT_HINT) from err
    runtime = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": setting("spark_partitions") or "8",
        "spark.sql.ansi.enabled": "false",
        **extra,
    }
    for key, value in runtime.items():
        session.conf.set(key, value)
    return session


def similarity_jar() -> str | None:
    try:
        from splink.internals.spark.jar_location import similarity_jar_location
    except ImportError:
        return None
    return str(similarity_jar_location())
