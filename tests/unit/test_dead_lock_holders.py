"""A lock whose holder was a process of this host that is gone (SIGKILL) is taken over at once;
one held on another host waits for its expiry (its process cannot be asked)."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
from pathlib import Path

from tierkit.store import jobs, locks
from tierkit.store.database import store_engine

TTL = dt.timedelta(minutes=10)


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_a_killed_holder_of_this_host_is_taken_over_and_its_job_marked_interrupted(tmp_path: Path) -> None:
    engine = store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    dead = f"job-1 {socket.gethostname()}:{_dead_pid()}:abcd"
    assert locks.acquire(engine, "grading", dead, TTL)
    jobs.start(engine, "ann", "job-1")
    jobs.step(engine, "job-1", "grading")
    assert locks.alive_here(dead) is False
    assert locks.acquire(engine, "grading", locks.new_holder(), TTL)  # not 10 minutes later: now
    assert jobs.interrupt(engine, "interrupted", keep="job-2") == ["job-1"]
    assert (jobs.get(engine, "job-1") or {})["state"] == "failed"


def test_a_live_holder_or_one_of_another_host_keeps_the_lock(tmp_path: Path) -> None:
    engine = store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    alive = locks.new_holder()
    assert locks.alive_here(alive) is True
    assert locks.acquire(engine, "grading", alive, TTL)
    assert not locks.acquire(engine, "grading", locks.new_holder(), TTL)
    locks.release(engine, "grading", alive)
    elsewhere = f"another-host-{socket.gethostname()}:{_dead_pid()}:abcd"
    assert locks.alive_here(elsewhere) is None
    assert locks.acquire(engine, "grading", elsewhere, TTL)
    assert not locks.acquire(engine, "grading", locks.new_holder(), TTL)
