"""A standalone Spark cluster on loopback for the tests: one master and one worker (1 core, 1 GB),
started with `spark-class` from the installed pyspark, stopped with every JVM it started.

Why real daemons and not local mode: on a cluster the driver and the executors are different
JVMs, so whatever assumed one process (paths, time zone, the warehouse folder, Python-side work)
shows up only here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STARTUP_SECONDS = 180  # two JVMs on a busy 2-core machine


@dataclass
class Cluster:
    master_url: str
    web_url: str
    folder: Path
    daemons: list[subprocess.Popen[bytes]]

    def state(self) -> dict[str, Any]:
        """The master's own account of itself (its web UI's JSON): workers, running and completed apps."""
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=10) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text('utf-8', 'replace')[-3000:]}" for p in self.folder.glob("*.log"))

    def stop(self) -> None:
        """Every daemon with its process group (a worker's executors are its children), TERM then KILL."""
        for daemon in reversed(self.daemons):
            if daemon.poll() is None:
                os.killpg(daemon.pid, signal.SIGTERM)
        for daemon in reversed(self.daemons):
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait(timeout=10)


def java_missing() -> str | None:
    """Why a cluster cannot start here, or None."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Spark needs Java 17: apt-get install openjdk-17-jre-headless)"
    try:
        import pyspark
    except ImportError:
        return "pyspark is not installed (pip install 'tierkit[spark]')"
    if not (Path(pyspark.__file__).parent / "bin" / "spark-class").exists():
        return "the installed pyspark has no bin/spark-class"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_cluster(folder: Path) -> Cluster:
    """A master and one worker on 127.0.0.1, once the worker has registered with the master."""
    import pyspark

    home = Path(pyspark.__file__).parent
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(folder),
        "SPARK_WORKER_DIR": str(folder / "work"),
    }
    port, web, worker_web = free_port(), free_port(), free_port()
    master_url, web_url = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{web}"
    loopback = ["--host", "127.0.0.1"]
    small = ["--cores", "1", "--memory", "1g", "--work-dir", str(folder / "work")]  # CI stays bounded
    commands = {
        "master": ["org.apache.spark.deploy.master.Master", *loopback, "--port", str(port), "--webui-port", str(web)],
        "worker": [
            "org.apache.spark.deploy.worker.Worker",
            master_url,
            *loopback,
            *small,
            "--webui-port",
            str(worker_web),
        ],
    }
    cluster = Cluster(master_url, web_url, folder, [])
    for name, arguments in commands.items():
        with (folder / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            cluster.daemons.append(
                subprocess.Popen(
                    [str(home / "bin" / "spark-class"), *arguments],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a group of its own: stop() ends it with its children
                )
            )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if any(d.poll() is not None for d in cluster.daemons):
            cluster.stop()
            raise RuntimeError(f"a Spark daemon exited at start-up:\n{cluster.logs()}")
        try:
            if cluster.state().get("aliveworkers") == 1:
                return cluster
        except OSError:
            pass  # the master's web UI is not up yet
        time.sleep(1)
    cluster.stop()
    raise RuntimeError(f"no worker registered within {STARTUP_SECONDS} s:\n{cluster.logs()}")


def start_connect_server(folder: Path) -> Cluster:
    """A Spark Connect server (local mode, one core) on 127.0.0.1, once its port answers; its
    `master_url` is the sc:// URL a client gives."""
    import pyspark

    home = Path(pyspark.__file__).parent
    port = free_port()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    command = [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
    command += ["--master", "local[1]", "--conf", "spark.ui.enabled=false"]
    command += [
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
    ]
    server = Cluster(f"sc://127.0.0.1:{port}", "", folder, [])
    with (folder / "connect.log").open("wb") as log:
        server.daemons.append(
            subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.daemons[0].poll() is not None:
            raise RuntimeError(f"the Spark Connect server exited at start-up:\n{server.logs()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(1)
    server.stop()
    raise RuntimeError(f"the Spark Connect server did not listen within {STARTUP_SECONDS} s:\n{server.logs()}")
