"""Uses of entitlements: who used what for whom, when, under which run; what limits count.

A limited use takes a slot of its period ("2026#2", the second use of 2026), unique per
customer and code: two counters recording the last use at the same moment cannot both succeed
(the second gets `SlotTaken` and counts again). Unlimited uses have no slot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from tierkit.store.schema import entitlement_uses


class SlotTaken(Exception):
    """Another use took this slot of the period first."""


@dataclass(frozen=True)
class Use:
    id: int
    customer_id: str
    code: str
    at: dt.datetime
    by: str
    run_id: str | None
    tier: str | None
    note: str | None


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def count(engine: Engine, customer_id: str, code: str, start: dt.datetime, end: dt.datetime) -> int:
    """Uses of one entitlement by one customer at or after `start` and before `end` (UTC instants)."""
    c = entitlement_uses.c
    query = select(func.count()).where(c.customer_id == customer_id, c.code == code, c.at >= start, c.at < end)
    with engine.connect() as con:
        return int(con.execute(query).scalar() or 0)


def times_since(engine: Engine, customer_id: str, since: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """(code, at) of the customer's uses at or after `since`, for counting each code in its period."""
    c = entitlement_uses.c
    query = select(c.code, c.at).where(c.customer_id == customer_id, c.at >= since)
    with engine.connect() as con:
        return [(str(code), _aware(at)) for code, at in con.execute(query)]


def record(
    engine: Engine,
    customer_id: str,
    code: str,
    at: dt.datetime,
    by: str,
    run_id: str | None,
    tier: str | None,
    note: str | None,
    slot: str | None,
) -> Use:
    """Write one use; `SlotTaken` when a limited use's slot is already taken."""
    values = {"customer_id": customer_id, "code": code, "at": at, "by": by, "run_id": run_id, "tier": tier}
    try:
        with engine.begin() as con:
            new_id = con.execute(entitlement_uses.insert().values(**values, note=note, slot=slot)).inserted_primary_key
    except IntegrityError as err:
        raise SlotTaken(slot) from err
    return Use(int(new_id[0]), customer_id, code, at, by, run_id, tier, note)  # type: ignore[index]


def of_customer(engine: Engine, customer_id: str, limit: int = 20) -> list[Use]:
    """The customer's last uses, newest first."""
    c = entitlement_uses.c
    query = (
        select(c.id, c.customer_id, c.code, c.at, c.by, c.run_id, c.tier, c.note)
        .where(c.customer_id == customer_id)
        .order_by(c.at.desc(), c.id.desc())
        .limit(limit)
    )
    with engine.connect() as con:
        rows = list(con.execute(query))
    return [Use(int(r.id), r.customer_id, r.code, _aware(r.at), r.by, r.run_id, r.tier, r.note) for r in rows]
