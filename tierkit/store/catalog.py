"""The run catalog and the current pointer: which run every process serves.

Publishing is one transaction on the `pointers` row, so every reader sees either the old run or
the new one. The run's files are written and renamed into place before, by runs.files.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from tierkit.store.schema import pointers, runs

CURRENT = "current"


def _row(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": manifest["run_id"],
        "created_at": dt.datetime.fromisoformat(manifest["created_at"]),
        "as_of": manifest["as_of"],
        "policy": manifest["policy"]["name"],
        "policy_hash": manifest["policy"]["hash"],
        "customers": int(manifest.get("rows") or 0),
    }


def record_run(engine: Engine, manifest: dict[str, Any]) -> None:
    """Add a written run to the catalog (idempotent: the same run again changes nothing)."""
    try:
        with engine.begin() as con:
            con.execute(runs.insert().values(**_row(manifest)))
    except IntegrityError:
        return  # already in the catalog (a run published again, or recorded before)


def publish(engine: Engine, run_id: str, manifest: dict[str, Any] | None = None) -> None:
    """Make `run_id` the current run; with its `manifest`, enter it in the catalog first in the
    same transaction, so that a publish that fails (a full disk) leaves no row behind either."""
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as con:
        if manifest is not None and con.execute(select(runs.c.run_id).where(runs.c.run_id == run_id)).first() is None:
            con.execute(runs.insert().values(**_row(manifest)))  # writers hold the workspace lock: no race
        con.execute(update(runs).where(runs.c.run_id == run_id).values(published_at=now))
        moved = con.execute(update(pointers).where(pointers.c.name == CURRENT).values(run_id=run_id, changed_at=now))
        if not moved.rowcount:
            con.execute(pointers.insert().values(name=CURRENT, run_id=run_id, changed_at=now))


def current(engine: Engine) -> str | None:
    with engine.connect() as con:
        return con.execute(select(pointers.c.run_id).where(pointers.c.name == CURRENT)).scalar()


def run_ids(engine: Engine) -> set[str]:
    """The ids of the runs in the catalog."""
    with engine.connect() as con:
        return {str(r) for r in con.execute(select(runs.c.run_id)).scalars()}


def catalog(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as con:
        rows = con.execute(select(runs).order_by(runs.c.created_at, runs.c.run_id))
        return [dict(r._mapping) for r in rows]
