"""One writer at a time in a workspace (issue 15: two imports at once lost a registry entry in 5
rounds of 5). Every writing command takes the workspace lock (`.tierkit.lock`, an advisory file
lock the system lets go when its process dies); a second one says who holds it and waits, and
gives up with one line and exit 2 after TIERKIT_LOCK_TIMEOUT seconds. Real processes, racing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from tierkit.cli.app import app

runner = CliRunner()
TODAY = ["--today", "2026-11-29"]
HOLD = """
import sys, time
from pathlib import Path
from tierkit.app.writing import writing
from tierkit.workspace import Workspace

ws, release = Workspace.open(sys.argv[1]), Path(sys.argv[2])
with writing(ws, "grade"):
    print("holding", flush=True)
    while not release.exists():
        time.sleep(0.05)
"""


CLI = "from tierkit.cli.app import main; main()"
SLOW_REGISTRY = """
import sys, time
from tierkit.ingest import registry

read = registry.Registry.__init__


def slow(self, data_dir):  # what it read grows old before it is written: the race, made wide
    read(self, data_dir)
    time.sleep(1.5)


registry.Registry.__init__ = slow
from tierkit.cli.app import main

sys.argv = ["tierkit", *sys.argv[1:]]
main()
"""


def tierkit(*args: str, timeout: str | None = None, script: str = CLI) -> subprocess.Popen[str]:
    env = {**os.environ, **({"TIERKIT_LOCK_TIMEOUT": timeout} if timeout is not None else {})}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def orders(path: Path, prefix: str, count: int) -> Path:
    rows = [f"{prefix}{i},{prefix}{i:04d},2024-03-{1 + i % 28:02d},{10 + i}" for i in range(count)]
    path.write_text("order_id,customer_id,ordered_at,amount\n" + "\n".join(rows) + "\n", "utf-8")
    return path


def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    return ws


def test_two_imports_at_once_both_are_recorded(tmp_path: Path) -> None:
    """Each child reads the registry and waits 1.5 s before it goes on: without the lock both
    read it empty and the later write drops the other's entry, every time."""
    ws = workspace(tmp_path)
    files = [orders(tmp_path / f"{name}.csv", f"{name}-", 2000) for name in ("A", "B")]
    started = [tierkit("import", "orders", str(f), "-w", str(ws), *TODAY, script=SLOW_REGISTRY) for f in files]
    for process in started:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    entries = json.loads((ws / "data" / "imports.json").read_text("utf-8"))["orders"]
    assert sorted(Path(key).name for key in entries) == ["A.csv", "B.csv"]
    assert sorted(entry["imported"] for entry in entries.values()) == [2000, 2000]
    parts = sorted(p.name for p in (ws / "data" / "orders").glob("*.parquet"))
    assert sorted(Path(e["part"]).name for e in entries.values()) == parts


def test_a_second_writer_waits_and_says_for_whom_or_gives_up_with_one_line(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    release = tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(ws), str(release)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        source = orders(tmp_path / "a.csv", "A", 3)
        refused = tierkit("import", "orders", str(source), "-w", str(ws), *TODAY, timeout="1")
        _, err = refused.communicate(timeout=300)
        assert refused.returncode == 2
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines[-1].startswith("error: ") and "Traceback" not in err
        assert f"another tierkit command is writing {ws} (grade, pid {holder.pid}, since " in err
        assert "gave up after 1 s" in lines[-1] and "TIERKIT_LOCK_TIMEOUT" in lines[-1]
        assert not (ws / "data" / "imports.json").exists()  # nothing imported

        waiting = tierkit("import", "orders", str(source), "-w", str(ws), *TODAY, timeout="120")
        assert waiting.stderr is not None
        told = waiting.stderr.readline()  # its first words: who it waits for
        assert told.startswith(f"another tierkit command is writing {ws} (grade, pid {holder.pid}, since ")
        assert told.rstrip().endswith("): waiting…")
        time.sleep(1)
        assert waiting.poll() is None  # still waiting
        release.touch()
        _, err = waiting.communicate(timeout=300)
        assert waiting.returncode == 0, err
        assert "3 read, 3 imported" in " ".join(err.split())
    finally:
        release.touch()
        holder.wait(timeout=60)


def test_a_lock_whose_holder_died_is_free(tmp_path: Path) -> None:
    """The system lets an advisory lock go with its process: a kill -9 leaves no stale lock."""
    ws = workspace(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(ws), str(tmp_path / "never")], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    holder.kill()
    holder.wait(timeout=60)
    source = orders(tmp_path / "a.csv", "A", 3)
    result = runner.invoke(app, ["import", "orders", str(source), "-w", str(ws), *TODAY])
    assert result.exit_code == 0, result.output
    assert "waiting" not in result.output


def test_the_lock_is_reentrant_in_a_thread_and_excludes_other_threads(tmp_path: Path) -> None:
    """A server grades on one thread and publishes for a request on another: one waits."""
    import threading

    from tierkit.app.writing import writing
    from tierkit.errors import WorkspaceBusyError
    from tierkit.workspace import Workspace

    ws = Workspace.open(workspace(tmp_path))
    heard: list[str] = []
    errors: list[Exception] = []

    def publish() -> None:
        try:
            with writing(ws, "publish", timeout=0.3, tell=heard.append):
                pass
        except WorkspaceBusyError as err:
            errors.append(err)

    with writing(ws, "grade"), writing(ws, "grade"):  # re-entered: the demo grades inside its own lock
        thread = threading.Thread(target=publish)
        thread.start()
        thread.join(timeout=30)
    assert len(heard) == 1 and heard[0].startswith(f"another tierkit command is writing {ws.root} (grade, pid ")
    assert heard[0].endswith("): waiting…")
    assert len(errors) == 1 and "gave up after 0.3 s" in str(errors[0])
    publish()  # let go: taken at once
    assert len(heard) == 1 and len(errors) == 1
