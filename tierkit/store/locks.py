"""Named locks in the store that every process of a workspace respects (several `tierkit serve`
workers, a CLI on another host): one scheduled grading at a time.

A lock is a row in `locks`. Taking it is an INSERT (the primary key lets one process win; the
others get an IntegrityError), or, when the row is there but its `expires_at` has passed (its
holder crashed or froze), an UPDATE ... WHERE expires_at < now, which again only one process
can win. The holder renews it while it works (`Lease`) and deletes it when done. Times are UTC;
the same code runs on SQLite and PostgreSQL (SQLAlchemy Core, no dialect-specific SQL).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from tierkit.store.schema import locks

log = logging.getLogger(__name__)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A time read from the store, as an aware UTC datetime (SQLite gives it back naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def new_holder() -> str:
    """Who holds a lock: host, process and a token of this attempt (two threads never share one)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def acquire(engine: Engine, name: str, holder: str, ttl: dt.timedelta, now: dt.datetime | None = None) -> bool:
    """Take the lock `name` for `ttl`: True when this holder has it now (taken afresh, or taken
    over from a holder whose lock lapsed); False while someone else holds it."""
    now = now or utc_now()
    row = {"name": name, "holder": holder, "acquired_at": now, "expires_at": now + ttl}
    try:
        with engine.begin() as con:
            con.execute(locks.insert().values(**row))
        return True
    except IntegrityError:
        pass
    with engine.begin() as con:
        taken = con.execute(
            update(locks)
            .where(locks.c.name == name, locks.c.expires_at < now)
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        )
    if taken.rowcount == 1:
        log.warning("lock %s: taken over from a holder whose lock had lapsed", name)
        return True
    if clear_dead(engine, name) is not None:  # its holder was a process of this host, killed
        return acquire(engine, name, holder, ttl, now)
    return False


def alive_here(holder: str) -> bool | None:
    """Whether the process that holds a lock still runs: None when it ran on another host (its
    lock lapses instead), False when it was a process of this host that is gone (SIGKILL, OOM).
    A holder reads "host:pid:token", after a job id when a job holds it."""
    parts = holder.split()[-1].split(":") if holder.strip() else []
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return None
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def clear_dead(engine: Engine, name: str) -> str | None:
    """Remove the lock when its holder was a process of this host that no longer exists (a killed
    server must not block gradings until the lock lapses); the dead holder, or None."""
    found = held(engine, name)
    if found is None or alive_here(str(found["holder"])) is not False:
        return None
    with engine.begin() as con:
        done = con.execute(delete(locks).where(locks.c.name == name, locks.c.holder == found["holder"]))
    if not done.rowcount:
        return None
    log.warning("lock %s: its holder %s is no longer running; taken over", name, found["holder"])
    return str(found["holder"])


def renew(engine: Engine, name: str, holder: str, ttl: dt.timedelta, now: dt.datetime | None = None) -> bool:
    """Push the expiry on; False when the lock is no longer this holder's (it lapsed and was taken)."""
    now = now or utc_now()
    with engine.begin() as con:
        done = con.execute(
            update(locks).where(locks.c.name == name, locks.c.holder == holder).values(expires_at=now + ttl)
        )
    return done.rowcount == 1


def release(engine: Engine, name: str, holder: str) -> bool:
    """Let the lock go (only this holder's: a lock taken over meanwhile stays its new holder's)."""
    with engine.begin() as con:
        done = con.execute(delete(locks).where(locks.c.name == name, locks.c.holder == holder))
    return done.rowcount == 1


def held(engine: Engine, name: str, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The lock's row (holder, acquired_at, expires_at, and `lapsed`), or None when nobody holds it."""
    with engine.connect() as con:
        row = con.execute(select(locks).where(locks.c.name == name)).first()
    if row is None:
        return None
    found = dict(row._mapping)
    found["acquired_at"] = as_utc(found["acquired_at"])
    found["expires_at"] = as_utc(found["expires_at"])
    found["lapsed"] = found["expires_at"] < (now or utc_now())
    return found


class Lease:
    """A lock held for a piece of work and renewed in the background while it lasts.

    with Lease(engine, "grading", ttl) as lease:
        if lease.taken: ...   # the work; the lock is renewed every ttl/3 and released at the end

    A holder that dies stops renewing, so its lock lapses after `ttl` and another process may
    take it over."""

    def __init__(self, engine: Engine, name: str, ttl: dt.timedelta, holder: str | None = None) -> None:
        self.engine = engine
        self.name = name
        self.ttl = ttl
        self.holder = holder or new_holder()
        self.taken = False
        self.lost = False  # the lock lapsed and was taken over while this holder worked
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.taken = acquire(self.engine, self.name, self.holder, self.ttl)
        if self.taken:
            self._thread = threading.Thread(target=self._renew, name=f"lock-{self.name}", daemon=True)
            self._thread.start()
        return self

    def _renew(self) -> None:
        every = max(self.ttl.total_seconds() / 3, 0.05)
        while not self._stop.wait(every):
            try:
                if not renew(self.engine, self.name, self.holder, self.ttl):
                    self.lost = True
                    log.error("lock %s: lost by %s (it lapsed and was taken over)", self.name, self.holder)
                    return
            except Exception as err:  # the store away for a moment: try again at the next beat
                log.warning("lock %s: could not renew: %s", self.name, err)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.taken:
            release(self.engine, self.name, self.holder)
