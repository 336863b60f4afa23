"""Contact logs: when someone reached a customer, so the card can say when that last happened."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select

from tierkit.store.idempotency import insert_once
from tierkit.store.schema import contacts


def log(
    engine: Engine,
    customer_id: str,
    by: str,
    channel: str,
    note: str | None,
    outcome: str | None = None,
    key: str | None = None,
) -> dt.datetime:
    """Log a contact; when it was logged. With `key` (the client's Idempotency-Key) a contact
    its author logged under that key before is not logged again: its instant is the answer."""
    now = dt.datetime.now(dt.UTC)
    values = {"customer_id": customer_id, "at": now, "by": by, "channel": channel, "note": note, "outcome": outcome}
    row, _new = insert_once(engine, contacts, "by", values, key)
    return row["at"]  # type: ignore[no-any-return]


def of_customer(engine: Engine, customer_id: str, limit: int = 10) -> list[dict[str, object]]:
    """The customer's last contacts, newest first: when, who, how, what came of it."""
    query = (
        select(contacts.c.at, contacts.c.by, contacts.c.channel, contacts.c.note, contacts.c.outcome)
        .where(contacts.c.customer_id == customer_id)
        .order_by(contacts.c.at.desc(), contacts.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as con:
        rows = [dict(r._mapping) for r in con.execute(query)]
    for row in rows:
        at = row["at"]
        row["at"] = at if getattr(at, "tzinfo", None) else at.replace(tzinfo=dt.UTC)  # type: ignore[union-attr]
    return rows


def last(engine: Engine, customer_id: str) -> dt.datetime | None:
    with engine.connect() as con:
        value = con.execute(select(func.max(contacts.c.at)).where(contacts.c.customer_id == customer_id)).scalar()
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def latest_since(engine: Engine, after: dt.datetime | None) -> dict[str, dt.datetime]:
    """customer_id -> last contact, for contacts logged after `after` (all when None)."""
    query = select(contacts.c.customer_id, func.max(contacts.c.at)).group_by(contacts.c.customer_id)
    if after is not None:
        query = query.where(contacts.c.at > after)
    with engine.connect() as con:
        return {cid: (at if at.tzinfo else at.replace(tzinfo=dt.UTC)) for cid, at in con.execute(query)}


def contacted_between(engine: Engine, first: dt.datetime, before: dt.datetime) -> set[str]:
    """Customers with a logged contact at or after `first` and before `before` (UTC instants):
    whether a campaign reached them."""
    query = select(contacts.c.customer_id).where(contacts.c.at >= first, contacts.c.at < before).distinct()
    with engine.connect() as con:
        return {str(cid) for (cid,) in con.execute(query)}
