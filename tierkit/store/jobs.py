"""Grading jobs started through the API: state and current step, readable from any process."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import Engine, select, update

from tierkit.store.schema import jobs


def new_id() -> str:
    return f"job-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def start(engine: Engine, by: str, job_id: str | None = None) -> str:
    """Record a queued job (`job_id`: one chosen before, to name the lock it holds)."""
    job_id = job_id or new_id()
    with engine.begin() as con:
        con.execute(
            jobs.insert().values(job_id=job_id, state="queued", started_by=by, started_at=dt.datetime.now(dt.UTC))
        )
    return job_id


def step(engine: Engine, job_id: str, text: str, state: str = "running") -> None:
    with engine.begin() as con:
        con.execute(update(jobs).where(jobs.c.job_id == job_id).values(state=state, step=text))


def finish(engine: Engine, job_id: str, run_id: str | None, error: str | None) -> None:
    values: dict[str, Any] = {
        "finished_at": dt.datetime.now(dt.UTC),
        "run_id": run_id,
        "error": error,
        "state": "failed" if error else "done",
    }
    with engine.begin() as con:
        con.execute(update(jobs).where(jobs.c.job_id == job_id).values(**values))


def get(engine: Engine, job_id: str) -> dict[str, Any] | None:
    with engine.connect() as con:
        row = con.execute(select(jobs).where(jobs.c.job_id == job_id)).first()
    return dict(row._mapping) if row else None


def interrupt(engine: Engine, why: str, keep: str | None = None) -> list[str]:
    """Mark every queued or running job but `keep` failed with `why` (their process is gone:
    no job of a workspace runs beside the one holding its grading lock); their ids."""
    live = jobs.c.state.in_(("queued", "running"))
    where = live if keep is None else live & (jobs.c.job_id != keep)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as con:
        ids = [str(i) for (i,) in con.execute(select(jobs.c.job_id).where(where))]
        if ids:
            con.execute(update(jobs).where(jobs.c.job_id.in_(ids)).values(state="failed", error=why, finished_at=now))
    return ids
