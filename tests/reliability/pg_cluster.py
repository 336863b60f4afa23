"""A throw-away PostgreSQL cluster of a test's own, which the test may stop and start at will.

Why not the server .ci/run starts ($TIERKIT_TEST_PG_URL): other tests use it at the same time
(pytest -n 2), and stopping it would fail them. This cluster lives in a folder of its own under
/tmp (initdb, as the `postgres` user when we are root: PostgreSQL refuses to run as root), on a
free port of 127.0.0.1, with a Unix socket in its folder only; `remove()` stops it and deletes
the folder. `postgres_bin()` is None where the server's programs are not installed (Debian's
package puts them in /usr/lib/postgresql/VERSION/bin; $TIERKIT_TEST_PG_BIN names another folder).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

STOP_MODES = ("smart", "fast", "immediate")


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl: $TIERKIT_TEST_PG_BIN, else Debian's newest."""
    named = os.environ.get("TIERKIT_TEST_PG_BIN")
    found = [Path(named)] if named else sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version)
    usable = [b for b in found if (b / "initdb").is_file() and (b / "pg_ctl").is_file()]
    return usable[-1] if usable else None


def _version(folder: Path) -> tuple[int, ...]:
    name = folder.parent.name
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One PostgreSQL cluster in `root`, listening on 127.0.0.1:`port` once started."""

    def __init__(self, bin_dir: Path, root: Path, port: int) -> None:
        self.bin_dir, self.root, self.port = bin_dir, root, port
        self.data = root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, cwd="/", capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            log = (self.root / "log").read_text("utf-8", "replace")[-2000:] if (self.root / "log").exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}\n{log}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")

    def start(self) -> None:
        """Start and wait until it accepts connections (pg_ctl -w)."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=100"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop -m `mode`: smart waits for clients, fast disconnects them and shuts down
        cleanly, immediate quits at once (recovery replays the WAL on the next start)."""
        if mode not in STOP_MODES:
            raise ValueError(f"stop mode {mode!r} is not one of {STOP_MODES}")
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        with socket.socket() as probe:
            probe.settimeout(1)
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_cluster(bin_dir: Path) -> Iterator[Cluster]:
    """A new cluster, initialised and started; stopped and deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="tierkit-pg-restart-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    cluster = Cluster(bin_dir, root, free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
