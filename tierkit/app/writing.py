"""One writer at a time in a workspace: the lock every writing command takes, and the clean-up
after a crash that only a writer holding it may do.

Two imports at once both read data/imports.json, and the one that wrote last dropped the other's
entry (issue 15); two gradings, an import during a link, a publish during a grading race the same
way. So every use case that writes the workspace (import, grade into a run, publish, link and
its decisions, owners, plans, campaigns, the demo) runs inside `writing(ws, command)`:

- the lock is an advisory lock (`flock`) on `.tierkit.lock` in the workspace. The system lets it
  go when its process ends, however it ends (a kill -9 leaves no stale lock), and it holds across
  processes on one host (NFS and other network folders may not honour it: one host writes);
- the file names its holder (command, pid, host, since); a second writer prints "another tierkit
  command is writing WS (grade, pid N, since T): waiting…" once, polls, and after
  TIERKIT_LOCK_TIMEOUT seconds gives up with a `WorkspaceBusyError` (one line, exit 2);
- it is re-entrant in a thread (a demo grades inside its own lock) and excludes other threads of
  the same process (a server grading in the background and publishing for a request);
- whoever takes it first (not re-entering) finishes or clears what a crashed writer left: the
  import journal (ingest.journal), the runs' staging folders and catalog (runs.files), and a
  killed link's partial files (ingest.identity.persons).
  Nothing else writes then, so anything half-done is a leftover, never work in progress.

Readers never take it: runs and parts are replaced by renames, so a reader sees the old file or
the new one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tierkit.errors import InputError, WorkspaceBusyError
from tierkit.settings import setting
from tierkit.workspace import Workspace

LOCK = ".tierkit.lock"
POLL = 0.1  # seconds between two tries while waiting
_held = threading.local()  # per thread: lock file -> [depth, open handle]


def _tell(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def lock_timeout() -> float:
    """TIERKIT_LOCK_TIMEOUT, in seconds (0: do not wait)."""
    text = setting("lock_timeout") or "600"
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"TIERKIT_LOCK_TIMEOUT: '{text}' is not a number of seconds") from None
    if not value >= 0:
        raise InputError(f"TIERKIT_LOCK_TIMEOUT: '{text}' is not a number of seconds")
    return value


def _holder(path: Path) -> str:
    """'grade, pid 4242, since 2026-12-04T10:00:00+00:00', as the holder wrote it."""
    try:
        found = json.loads(path.read_text("utf-8") or "{}")
    except (OSError, ValueError):
        found = {}
    pid, since, command = found.get("pid", "?"), found.get("since", "?"), found.get("command", "?")
    host = found.get("host")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    return f"{command}, pid {pid}{where}, since {since}"


def _try(handle: IO[str]) -> bool:
    import fcntl

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _take(ws: Workspace, command: str, timeout: float, tell: Callable[[str], None]) -> IO[str]:
    path = ws.root / LOCK
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), "r+", encoding="utf-8")
    deadline, told = time.monotonic() + timeout, ""
    while not _try(handle):
        if not told:
            told = _holder(path)
            tell(f"another tierkit command is writing {ws.root} ({told}): waiting…")
        if time.monotonic() >= deadline:
            handle.close()
            raise WorkspaceBusyError(
                f"another tierkit command is writing {ws.root} ({_holder(path)}); gave up after {timeout:g} s "
                f"(TIERKIT_LOCK_TIMEOUT): try again when it is done"
            )
        time.sleep(POLL)
    since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    record = {"command": command, "pid": os.getpid(), "host": socket.gethostname(), "since": since}
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(record))
    handle.flush()
    return handle


@contextmanager
def writing(
    ws: Workspace, command: str, timeout: float | None = None, tell: Callable[[str], None] = _tell
) -> Iterator[None]:
    """Hold the workspace's write lock for `command` (its name, shown to whoever waits); see the
    module docstring. `timeout`: seconds to wait (default TIERKIT_LOCK_TIMEOUT)."""
    try:
        import fcntl  # noqa: F401  (no advisory locks on Windows: one writer at a time is the rule there)
    except ImportError:
        yield
        return
    key = str(ws.root.resolve() / LOCK)
    mine: dict[str, list[Any]] = _held.__dict__.setdefault("locks", {})
    if key in mine:  # this thread holds it already
        mine[key][0] += 1
        try:
            yield
        finally:
            mine[key][0] -= 1
        return
    handle = _take(ws, command, lock_timeout() if timeout is None else timeout, tell)
    mine[key] = [1, handle]
    try:
        recover(ws)
        yield
    finally:
        del mine[key]
        handle.close()  # closing the last descriptor lets the lock go


def recover(ws: Workspace) -> None:
    """What writers stopped by a crash left: finished or cleared (the lock is ours: nothing else
    is writing)."""
    from tierkit.ingest import journal
    from tierkit.ingest.identity.persons import clean_leftovers
    from tierkit.runs.files import clean_staging, reconcile

    if ws.data_dir.is_dir():
        journal.recover(ws.data_dir.resolve())
        clean_leftovers(ws.data_dir)  # a killed link's links.partial and scratch files
    clean_staging(ws)
    reconcile(ws, mirror=True)
