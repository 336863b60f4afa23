"""The audit log: who viewed, changed or exported what, and when.

Card views come by the thousand per second, so entries are queued and written in one
transaction per batch by a background thread (at most `interval` seconds late; `flush()` on
shutdown writes the rest). Overrides and exports are written at once, before the answer.

While the store cannot be written (a PostgreSQL server restarting), a batch that failed is kept,
in order, and written first on the next try; the thread logs the outage once and goes on (it
died on the first failure, and every entry after it was lost). A batch whose commit succeeded
but whose answer was lost is written again: an entry twice rather than none. At most
MAX_UNWRITTEN entries are kept (the oldest are dropped past it, and the log says how many).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from typing import Any

from sqlalchemy import Engine, select

from tierkit.store.schema import audit

log = logging.getLogger(__name__)
MAX_UNWRITTEN = 100_000  # entries kept while the store cannot be written


class AuditLog:
    def __init__(self, engine: Engine, interval: float = 0.2) -> None:
        self.engine = engine
        self.interval = interval
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._writing = threading.Lock()  # one drain at a time, held until its batch is committed
        self._unwritten: list[dict[str, Any]] = []  # a batch the store refused, written first next time
        self._thread = threading.Thread(target=self._run, name="tierkit-audit", daemon=True)
        self._thread.start()

    def record(
        self, actor: str, role: str, action: str, target: str | None, detail: str | None = None, now: bool = False
    ) -> None:
        entry = {
            "at": dt.datetime.now(dt.UTC),
            "actor": actor,
            "role": role,
            "action": action,
            "target": target,
            "detail": detail,
        }
        if now:
            with self.engine.begin() as con:
                con.execute(audit.insert(), [entry])
        else:
            self._queue.put(entry)

    def _drain(self) -> None:
        """Write what is queued. Taking the entries and committing them happen under one lock, so
        that `flush()` cannot return while the background thread holds entries not yet written
        (GET /audit would miss them)."""
        with self._writing:
            batch, self._unwritten = self._unwritten, []
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if batch:
                try:
                    with self.engine.begin() as con:
                        con.execute(audit.insert(), batch)
                except Exception:
                    dropped = max(len(batch) - MAX_UNWRITTEN, 0)
                    if dropped:
                        log.error(
                            "audit log: %d entries dropped (over %d kept while the store fails)", dropped, MAX_UNWRITTEN
                        )
                    self._unwritten = batch[dropped:]
                    raise

    def _run(self) -> None:
        failing = ""
        while True:
            stopping = self._stop.wait(self.interval)
            try:
                self._drain()
            except Exception as err:  # the store is down: keep the entries, try again next time
                # the driver's first line only: SQLAlchemy's text carries the batch's values
                cause = getattr(err, "orig", None) or err
                text = f"{type(cause).__name__}: {(str(cause).strip().splitlines() or [''])[0]}"
                if text != failing:
                    log.error("audit log: %d entries not written yet: %s", len(self._unwritten), text)
                    failing = text
            else:
                if failing:
                    log.warning("audit log: written again")
                    failing = ""
            if stopping:
                return

    def flush(self) -> None:
        """Every entry recorded before this call is in the database when it returns."""
        self._drain()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def entries(engine: Engine, target: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = select(audit).order_by(audit.c.id.desc()).limit(limit)
    if target is not None:
        query = query.where(audit.c.target == target)
    with engine.connect() as con:
        return [dict(r._mapping) for r in con.execute(query)]


def prune(engine: Engine, before: dt.datetime, keep: tuple[str, ...] = ("forget",)) -> int:
    """Remove the entries older than `before` (an aware instant), except those whose action is in
    `keep` (an erasure's record is the proof that a request was honoured, and holds no personal
    data); how many were removed. On SQLite the removed rows' bytes are overwritten (secure_delete)."""
    from sqlalchemy import delete

    with engine.begin() as con:
        if engine.dialect.name == "sqlite":
            con.exec_driver_sql("PRAGMA secure_delete = ON")
        removed = con.execute(delete(audit).where(audit.c.at < before, audit.c.action.not_in(keep))).rowcount
        if engine.dialect.name == "sqlite":
            con.exec_driver_sql("PRAGMA secure_delete = OFF")
    return int(removed or 0)
