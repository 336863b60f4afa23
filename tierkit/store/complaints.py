"""Complaints taken at the counter or on the phone, with their status and resolution.

The card shows them before the agent answers, and grading counts them with the imported
interactions (kind `complaint`), so a complaint entered today weighs in the next run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select, update

from tierkit.store.schema import complaints

STATUSES = ("open", "resolved")


@dataclass(frozen=True)
class Complaint:
    id: int
    customer_id: str
    at: dt.datetime
    topic: str
    channel: str | None
    detail: str | None
    status: str
    resolution: str | None
    resolved_at: dt.datetime | None
    created_by: str


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _row(r: object) -> Complaint:
    get = r.__getattribute__
    return Complaint(
        get("id"),
        get("customer_id"),
        _aware(get("at")),  # type: ignore[arg-type]
        get("topic"),
        get("channel"),
        get("detail"),
        get("status"),
        get("resolution"),
        _aware(get("resolved_at")),
        get("created_by"),
    )


def take(engine: Engine, customer_id: str, topic: str, channel: str | None, detail: str | None, by: str) -> Complaint:
    now = dt.datetime.now(dt.UTC)
    values = dict(customer_id=customer_id, at=now, topic=topic, channel=channel, detail=detail, status="open")
    with engine.begin() as con:
        new_id = con.execute(complaints.insert().values(**values, created_by=by)).inserted_primary_key[0]  # type: ignore[index]
    return Complaint(int(new_id), customer_id, now, topic, channel, detail, "open", None, None, by)


def resolve(engine: Engine, complaint_id: int, resolution: str) -> Complaint | None:
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as con:
        con.execute(
            update(complaints)
            .where(complaints.c.id == complaint_id)
            .values(status="resolved", resolution=resolution, resolved_at=now)
        )
        found = con.execute(select(complaints).where(complaints.c.id == complaint_id)).first()
    return _row(found) if found is not None else None


def of_customer(engine: Engine, customer_id: str, limit: int = 10) -> list[Complaint]:
    """The customer's complaints, newest first."""
    query = (
        select(complaints)
        .where(complaints.c.customer_id == customer_id)
        .order_by(complaints.c.at.desc(), complaints.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as con:
        return [_row(r) for r in con.execute(query)]


def every(engine: Engine, until: dt.datetime | None = None) -> list[Complaint]:
    """All complaints taken up to `until`, oldest first (for grading)."""
    query = select(complaints).order_by(complaints.c.at, complaints.c.id)
    if until is not None:
        query = query.where(complaints.c.at < until)
    with engine.connect() as con:
        return [_row(r) for r in con.execute(query)]


def count(engine: Engine) -> int:
    with engine.connect() as con:
        return int(con.execute(select(func.count()).select_from(complaints)).scalar() or 0)


def customers(engine: Engine) -> set[str]:
    """The customers with any complaint taken (a card queries only theirs)."""
    with engine.connect() as con:
        return {str(cid) for (cid,) in con.execute(select(complaints.c.customer_id).distinct())}
