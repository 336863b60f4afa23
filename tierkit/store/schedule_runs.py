"""What came of each due time of a workspace's `schedule:`: one row per slot (its UTC instant).

Taking a slot is an INSERT on the primary key, so of several processes that find the same slot
due only one grades it; the row then says running, done (with the run) or failed (with the
error). Slots are UTC ISO texts of one form, so they sort as times.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from tierkit.store.locks import as_utc, utc_now
from tierkit.store.schema import runs, schedule_runs

RUNNING, DONE, FAILED = "running", "done", "failed"


def slot_key(at: dt.datetime) -> str:
    """The row's key for a due instant: UTC, to the second, ISO (2026-03-01T02:00:00+00:00)."""
    return at.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def _row(row: Any) -> dict[str, Any]:
    found = dict(row._mapping)
    for key in ("started_at", "finished_at"):
        found[key] = as_utc(found[key])
    return found


def take(engine: Engine, slot: str, cron: str, holder: str, now: dt.datetime | None = None) -> bool:
    """Claim the slot for this holder: True for the one process whose row went in."""
    row = {"slot": slot, "cron": cron, "state": RUNNING, "holder": holder, "started_at": now or utc_now()}
    try:
        with engine.begin() as con:
            con.execute(schedule_runs.insert().values(**row))
        return True
    except IntegrityError:
        return False


def retake(engine: Engine, slot: str, was: str, holder: str, note: str | None, now: dt.datetime | None = None) -> bool:
    """Claim a slot again from holder `was` (its grading was interrupted, or failed and is retried):
    True when the row was still `was`'s and is now this holder's, running again."""
    with engine.begin() as con:
        done = con.execute(
            update(schedule_runs)
            .where(schedule_runs.c.slot == slot, schedule_runs.c.holder == was)
            .values(
                state=RUNNING, holder=holder, started_at=now or utc_now(), finished_at=None, run_id=None, error=note
            )
        )
    return done.rowcount == 1


def finish(
    engine: Engine,
    slot: str,
    holder: str,
    run_id: str | None,
    error: str | None,
    now: dt.datetime | None = None,
) -> None:
    """Record how the slot's grading ended: done with its run, or failed with the error."""
    values = {
        "state": FAILED if error else DONE,
        "finished_at": now or utc_now(),
        "run_id": run_id,
        "error": error,
    }
    with engine.begin() as con:
        con.execute(
            update(schedule_runs).where(schedule_runs.c.slot == slot, schedule_runs.c.holder == holder).values(**values)
        )


def get(engine: Engine, slot: str) -> dict[str, Any] | None:
    with engine.connect() as con:
        row = con.execute(select(schedule_runs).where(schedule_runs.c.slot == slot)).first()
    return _row(row) if row is not None else None


def recent(engine: Engine, limit: int = 10) -> list[dict[str, Any]]:
    """The latest slots first."""
    with engine.connect() as con:
        rows = con.execute(select(schedule_runs).order_by(schedule_runs.c.slot.desc()).limit(limit))
        return [_row(r) for r in rows]


def published_since(engine: Engine, at: dt.datetime) -> str | None:
    """A run created at or after `at` that was published (the workspace was graded since): its id."""
    with engine.connect() as con:
        query = (
            select(runs.c.run_id)
            .where(runs.c.created_at >= at.astimezone(dt.UTC), runs.c.published_at.is_not(None))
            .order_by(runs.c.created_at.desc())
            .limit(1)
        )
        found = con.execute(query).scalar()
    return str(found) if found is not None else None
