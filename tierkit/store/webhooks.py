"""Webhooks in the store: the hooks, one delivery row per alert and hook, and the log of POSTs.

A delivery is pending until a POST carrying it is answered 2xx (delivered), or until its
attempts are spent (dead: the dead-letter list, which `tierkit alerts retry` sends again).
Whoever sends claims rows first by moving their `next_at` to a lease instant of its own, so
that the serving process and a `tierkit alerts deliver` at the same time do not both send them;
a sender that dies leaves rows that fall due again when the lease ends (at-least-once).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, select, update

from tierkit.store.alerts import insert_ignoring
from tierkit.store.schema import alerts, deliveries, delivery_log, webhooks


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    secret: str
    batch: int
    timeout: float
    retries: int
    backoff: float
    created_by: str
    created_at: dt.datetime
    disabled_at: dt.datetime | None

    def shown(self) -> dict[str, Any]:
        """The hook as lists show it: never its secret."""
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "batch": self.batch,
            "timeout": self.timeout,
            "retries": self.retries,
            "backoff": self.backoff,
            "created_by": self.created_by,
            "created_at": _aware(self.created_at).isoformat(),
            "active": self.disabled_at is None,
        }


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _hook(row: Any) -> Webhook:
    return Webhook(
        row.id,
        row.url,
        tuple(e for e in row.events.split(",") if e),
        row.secret,
        int(row.batch),
        float(row.timeout),
        int(row.retries),
        float(row.backoff),
        row.created_by,
        _aware(row.created_at),
        _aware(row.disabled_at) if row.disabled_at is not None else None,
    )


def add_hook(engine: Engine, url: str, events: Sequence[str], by: str, **options: Any) -> Webhook:
    """A new hook with a fresh secret (the only time the secret leaves the store)."""
    row = {
        "id": "wh_" + secrets.token_hex(6),
        "url": url,
        "events": ",".join(events),
        "secret": "whsec_" + secrets.token_urlsafe(32),
        "batch": int(options.get("batch", 100)),
        "timeout": float(options.get("timeout", 10.0)),
        "retries": int(options.get("retries", 5)),
        "backoff": float(options.get("backoff", 2.0)),
        "created_by": by,
        "created_at": dt.datetime.now(dt.UTC),
        "disabled_at": None,
    }
    with engine.begin() as con:
        con.execute(webhooks.insert().values(**row))
    return _hook(type("Row", (), row))


def hooks(engine: Engine, active: bool = True) -> list[Webhook]:
    query = select(webhooks).order_by(webhooks.c.created_at, webhooks.c.id)
    if active:
        query = query.where(webhooks.c.disabled_at.is_(None))
    with engine.connect() as con:
        return [_hook(r) for r in con.execute(query)]


def disable_hook(engine: Engine, hook_id: str, now: dt.datetime) -> bool:
    with engine.begin() as con:
        done = con.execute(
            update(webhooks).where(webhooks.c.id == hook_id, webhooks.c.disabled_at.is_(None)).values(disabled_at=now)
        )
    return bool(done.rowcount)


def enqueue(engine: Engine, run_id: str, now: dt.datetime) -> None:
    """A pending delivery of each of the run's alerts to each active hook that wants its event."""
    rows: list[dict[str, Any]] = []
    with engine.connect() as con:
        for hook in hooks(engine):
            ids = con.execute(select(alerts.c.id).where(alerts.c.run_id == run_id, alerts.c.event.in_(hook.events)))
            rows.extend(
                {"webhook_id": hook.id, "alert_id": int(i), "state": "pending", "attempts": 0, "next_at": now}
                for (i,) in ids
            )
    insert_ignoring(engine, deliveries, rows)


def claim(engine: Engine, hook_id: str, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[Any]:
    """Up to `limit` due deliveries of a hook, oldest first, with their alerts; claimed by a lease."""
    d = deliveries.c
    until = now + lease + dt.timedelta(microseconds=secrets.randbelow(1_000_000))
    due = (
        select(d.id).where(d.webhook_id == hook_id, d.state == "pending", d.next_at <= now).order_by(d.id).limit(limit)
    )
    with engine.begin() as con:
        ids = [int(i) for (i,) in con.execute(due)]
        if not ids:
            return []
        con.execute(
            update(deliveries).where(d.id.in_(ids), d.state == "pending", d.next_at <= now).values(next_at=until)
        )
        a = alerts.c
        carried = (a.event_id, a.event, a.customer_id, a.owner, a.old, a.new, a.run_id, a.previous_run_id)
        query = (
            select(d.id, d.attempts, *carried, a.reasons, a.created_at)
            .join(alerts, a.id == d.alert_id)
            .where(d.id.in_(ids), d.next_at == until)
            .order_by(d.id)
        )
        return list(con.execute(query))


def settle(
    engine: Engine,
    hook: Webhook,
    claimed: Sequence[Any],
    now: dt.datetime,
    status: int | None,
    error: str | None,
    duration_ms: int,
) -> str:
    """Record a POST's outcome for the deliveries it carried: 'delivered', 'retry' or 'dead'."""
    d = deliveries.c
    ids = [int(r.id) for r in claimed]
    attempt = max(int(r.attempts) for r in claimed) + 1
    ok = status is not None and 200 <= status < 300
    log = {"webhook_id": hook.id, "at": now, "events": len(ids), "attempt": attempt, "status": status}
    with engine.begin() as con:
        con.execute(delivery_log.insert().values(**log, error=error, duration_ms=duration_ms))
        if ok:
            con.execute(
                update(deliveries).where(d.id.in_(ids)).values(state="delivered", delivered_at=now, attempts=attempt)
            )
            return "delivered"
        if attempt > hook.retries:
            con.execute(
                update(deliveries).where(d.id.in_(ids)).values(state="dead", attempts=attempt, last_error=error)
            )
            return "dead"
        wait = dt.timedelta(seconds=hook.backoff * 2 ** (attempt - 1))
        values = {"attempts": attempt, "last_error": error, "next_at": now + wait}
        con.execute(update(deliveries).where(d.id.in_(ids)).values(**values))
        return "retry"


def states(engine: Engine) -> dict[str, dict[str, int]]:
    """Deliveries per hook and state."""
    d = deliveries.c
    with engine.connect() as con:
        rows = con.execute(select(d.webhook_id, d.state, func.count()).group_by(d.webhook_id, d.state)).all()
    found: dict[str, dict[str, int]] = {}
    for hook_id, state, n in rows:
        found.setdefault(str(hook_id), {})[str(state)] = int(n)
    return found


def next_due(engine: Engine, hook_ids: Sequence[str]) -> dt.datetime | None:
    """When the earliest pending delivery of these hooks falls due (None: nothing pending)."""
    d = deliveries.c
    query = select(func.min(d.next_at)).where(d.state == "pending", d.webhook_id.in_(list(hook_ids)))
    with engine.connect() as con:
        found = con.execute(query).scalar()
    return _aware(found) if found is not None else None


def dead(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """The dead-letter list: deliveries whose attempts are spent, newest first."""
    d, a = deliveries.c, alerts.c
    query = (
        select(d.id, d.webhook_id, d.attempts, d.last_error, a.event_id, a.event, a.customer_id, a.run_id)
        .join(alerts, a.id == d.alert_id)
        .where(d.state == "dead")
        .order_by(d.id.desc())
        .limit(limit)
    )
    with engine.connect() as con:
        return [dict(r._mapping) for r in con.execute(query)]


def retry_dead(engine: Engine, now: dt.datetime, hook_id: str | None = None) -> int:
    """Send the dead-letter list again: its deliveries pending, attempts from zero."""
    d = deliveries.c
    where = and_(d.state == "dead", d.webhook_id == hook_id) if hook_id else d.state == "dead"
    with engine.begin() as con:
        done = con.execute(update(deliveries).where(where).values(state="pending", attempts=0, next_at=now))
    return int(done.rowcount or 0)


def log(engine: Engine, hook_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The last POSTs, newest first."""
    c = delivery_log.c
    query = select(delivery_log).order_by(c.id.desc()).limit(limit)
    if hook_id:
        query = query.where(c.webhook_id == hook_id)
    with engine.connect() as con:
        rows = [dict(r._mapping) for r in con.execute(query)]
    for row in rows:
        row["at"] = _aware(row["at"]).isoformat()
    return rows
