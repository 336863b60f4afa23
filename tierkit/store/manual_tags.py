"""Tags a person gives: a 集团关键人 the data cannot see, a complainer put on the blacklist.

Kept with who gave each, why, and until when; removing one records who removed it, so the
table is its own history (the audit log records each change too).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, or_, select, update

from tierkit.store.schema import manual_tags


@dataclass(frozen=True)
class ManualTag:
    customer_id: str
    tag: str
    reason: str
    expires: dt.datetime | None
    created_by: str
    created_at: dt.datetime


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def give(engine: Engine, customer_id: str, tag: str, reason: str, expires: dt.datetime | None, by: str) -> ManualTag:
    now = dt.datetime.now(dt.UTC)
    row = ManualTag(customer_id, tag, reason, expires, by, now)
    with engine.begin() as con:
        con.execute(manual_tags.insert().values(**row.__dict__))
    return row


def remove(engine: Engine, customer_id: str, tag: str, by: str) -> int:
    """End a customer's tag now; the number of entries ended (0: it had none)."""
    now = dt.datetime.now(dt.UTC)
    live = (manual_tags.c.customer_id == customer_id) & (manual_tags.c.tag == tag) & manual_tags.c.removed_at.is_(None)
    with engine.begin() as con:
        return int(con.execute(update(manual_tags).where(live).values(removed_by=by, removed_at=now)).rowcount or 0)


def active(
    engine: Engine, customer_id: str | None = None, now: dt.datetime | None = None
) -> dict[str, list[ManualTag]]:
    """customer_id -> tags in force (not removed, not expired), newest entry per tag."""
    now = now or dt.datetime.now(dt.UTC)
    query = select(manual_tags).where(
        manual_tags.c.removed_at.is_(None), or_(manual_tags.c.expires.is_(None), manual_tags.c.expires > now)
    )
    if customer_id is not None:
        query = query.where(manual_tags.c.customer_id == customer_id)
    found: dict[str, dict[str, ManualTag]] = {}
    with engine.connect() as con:
        for r in con.execute(query.order_by(manual_tags.c.created_at, manual_tags.c.id)):
            tag = ManualTag(r.customer_id, r.tag, r.reason, _aware(r.expires), r.created_by, _aware(r.created_at))  # type: ignore[arg-type]
            found.setdefault(r.customer_id, {})[r.tag] = tag
    return {cid: list(tags.values()) for cid, tags in found.items()}
