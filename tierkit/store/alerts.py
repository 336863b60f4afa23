"""Alerts in the store: written once per event id, read as each owner's inbox.

An event id is derived from the two runs, the event, the customer and the new value, so that
publishing the same run again (or a crash and a retry) adds nothing twice: the insert skips ids
already there (ON CONFLICT DO NOTHING on both SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tierkit.store.schema import alerts


def insert_ignoring(engine: Engine, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, skipping those whose unique key is already there. One statement run for many
    rows (SQLAlchemy batches them: "insertmanyvalues"), compiled once: a VALUES list of 100,000
    rows built as one statement would spend seconds compiling."""
    if not rows:
        return
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    with engine.begin() as con:
        con.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))


def add(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    """Record events (dicts of the alerts table's columns but `id`); ids already there are skipped."""
    insert_ignoring(engine, alerts, rows)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def event_fields(row: Any) -> dict[str, Any]:
    """What an alert says, as the inbox lists it and a webhook receives it."""
    created = _aware(row.created_at)
    return {
        "event_id": row.event_id,
        "event": row.event,
        "customer_id": row.customer_id,
        "owner": row.owner,
        "old": row.old,
        "new": row.new,
        "run_id": row.run_id,
        "previous_run_id": row.previous_run_id,
        "reasons": json.loads(row.reasons) if row.reasons else [],
        "created_at": created.isoformat() if created is not None else None,
    }


def as_dict(row: Any) -> dict[str, Any]:
    """An alert of the inbox: its row id, what it says, and who read it when."""
    read = _aware(row.read_at)
    shown = read.isoformat() if read else None
    return {"id": int(row.id), **event_fields(row), "read_at": shown, "read_by": row.read_by}


def inbox(
    engine: Engine,
    *,
    owner: str | None = None,
    event: str | None = None,
    run_id: str | None = None,
    customer_id: str | None = None,
    unread: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Alerts newest first, filtered; with the total and the unread count of that filter."""
    c = alerts.c
    where = []
    if owner is not None:
        where.append(c.owner == owner)
    if event is not None:
        where.append(c.event == event)
    if run_id is not None:
        where.append(c.run_id == run_id)
    if customer_id is not None:
        where.append(c.customer_id == customer_id)
    shown = [*where, c.read_at.is_(None)] if unread else where
    with engine.connect() as con:
        rows = con.execute(select(alerts).where(*shown).order_by(c.id.desc()).limit(limit).offset(offset)).all()
        total = con.execute(select(func.count()).select_from(alerts).where(*shown)).scalar() or 0
        not_read = con.execute(select(func.count()).select_from(alerts).where(*where, c.read_at.is_(None))).scalar()
        by_event: dict[str, int] = dict(
            con.execute(select(c.event, func.count()).where(*shown).group_by(c.event)).all()
        )
    return {
        "alerts": [as_dict(r) for r in rows],
        "total": int(total),
        "unread": int(not_read or 0),
        "by_event": {str(k): int(v) for k, v in sorted(by_event.items())},
    }


def one(engine: Engine, alert_id: int) -> dict[str, Any] | None:
    with engine.connect() as con:
        row = con.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    return as_dict(row) if row is not None else None


def mark_read(engine: Engine, ids: Sequence[int], by: str, now: dt.datetime) -> int:
    """Mark alerts read (those not read yet); the number marked."""
    c = alerts.c
    with engine.begin() as con:
        done = con.execute(
            update(alerts).where(c.id.in_(list(ids)), c.read_at.is_(None)).values(read_at=now, read_by=by)
        )
    return int(done.rowcount or 0)


def of_run(engine: Engine, run_id: str) -> dict[str, int]:
    """How many events of each kind a run emitted."""
    c = alerts.c
    with engine.connect() as con:
        rows = con.execute(select(c.event, func.count()).where(c.run_id == run_id).group_by(c.event)).all()
    return {str(event): int(n) for event, n in sorted(rows)}
