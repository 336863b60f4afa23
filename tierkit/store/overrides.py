"""Manual tiers: an analyst's decision with a reason and an expiry, which wins until it expires.

Every override is kept (the newest active one per customer applies), so the history of manual
decisions is itself an audit trail; the audit log records who set each one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from tierkit.store.idempotency import insert_once
from tierkit.store.schema import overrides


@dataclass(frozen=True)
class Override:
    customer_id: str
    tier: str
    reason: str
    expires: dt.datetime
    created_by: str
    created_at: dt.datetime


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def set_override(
    engine: Engine, customer_id: str, tier: str, reason: str, expires: dt.datetime, by: str, key: str | None = None
) -> Override:
    """Record an override. With `key` (the client's Idempotency-Key) an override its author set
    under that key before is not recorded again: that one is the answer."""
    now = dt.datetime.now(dt.UTC)
    row, _new = insert_once(
        engine, overrides, "created_by", Override(customer_id, tier, reason, expires, by, now).__dict__, key
    )
    return Override(**{name: row[name] for name in Override.__dataclass_fields__})


def active(engine: Engine, now: dt.datetime | None = None, customer_id: str | None = None) -> dict[str, Override]:
    """customer_id -> the newest unexpired override."""
    now = now or dt.datetime.now(dt.UTC)
    query = select(overrides).where(overrides.c.expires > now)
    if customer_id is not None:
        query = query.where(overrides.c.customer_id == customer_id)
    found: dict[str, Override] = {}
    with engine.connect() as con:
        for r in con.execute(query.order_by(overrides.c.created_at, overrides.c.id)):
            found[r.customer_id] = Override(
                r.customer_id, r.tier, r.reason, _aware(r.expires), r.created_by, _aware(r.created_at)
            )
    return found


def count_active(engine: Engine) -> int:
    with engine.connect() as con:
        return int(con.execute(select(func.count()).where(overrides.c.expires > dt.datetime.now(dt.UTC))).scalar() or 0)
