"""Webhooks: where alerts go besides the inbox, signed, retried, and never silently dropped.

Each POST is JSON: one event object when the hook's batch is 1, else `{"events": [...]}` of up
to `batch` of them. The headers say when (`X-Tierkit-Timestamp`, Unix seconds) and prove who
(`X-Tierkit-Signature: sha256=HEX`, HEX being HMAC-SHA256 with the hook's secret over
`TIMESTAMP + "." + body`); a receiver checks the signature and refuses old timestamps, and
de-duplicates by each event's `id` (delivery is at least once). A POST that is not answered 2xx
in time is retried after `backoff` seconds, doubled each time; after `retries` retries its
events go to the dead-letter list. Every POST is in the delivery log.

`deliver` sends what is due; with `wait` it also waits for retries to fall due, and returns
when nothing is pending (all delivered or dead): `tierkit alerts deliver` for cron and scripts.
A running `tierkit serve` calls it without waiting on every tick of its service loop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tierkit.errors import InputError, NotFoundError, did_you_mean
from tierkit.policy.alerts import EVENTS
from tierkit.runs.files import store_of
from tierkit.store import webhooks as hooks_store
from tierkit.store.alerts import event_fields
from tierkit.store.audit import AuditLog
from tierkit.store.webhooks import Webhook
from tierkit.version import __version__
from tierkit.workspace import Workspace

LIMITS = {"batch": (1, 1000), "timeout": (0.1, 300.0), "retries": (0, 20), "backoff": (0.0, 3600.0)}
LEASE = dt.timedelta(seconds=30)  # beyond the hook's timeout: how long a claimed delivery is held


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HEX of `X-Tierkit-Signature: sha256=HEX`; receivers compute the same and compare."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"webhook URL '{url}': give an http:// or https:// URL with a host")
    return url.strip()


def check_events(events: Sequence[str]) -> list[str]:
    chosen = [e.strip() for e in events if e.strip()] or list(EVENTS)
    for event in chosen:
        if event not in EVENTS:
            raise InputError(
                f"unknown event '{event}' (events: {', '.join(EVENTS)}){did_you_mean(event, list(EVENTS))}"
            )
    return sorted(set(chosen), key=EVENTS.index)


def add(workspace: Path | None, url: str, events: Sequence[str], by: str, **options: Any) -> dict[str, Any]:
    """A new hook; the result holds its `secret`, which is shown this once."""
    for name, value in options.items():
        low, high = LIMITS[name]
        if not low <= value <= high:
            raise InputError(f"webhook --{name} {value}: give a number from {low:g} to {high:g}")
    chosen = check_events(events)
    ws = Workspace.open(workspace)
    engine = store_of(ws)
    hook = hooks_store.add_hook(engine, check_url(url), chosen, by, **options)
    audit = AuditLog(engine)
    audit.record(by, "admin", "add_webhook", hook.id, f"{hook.url} {','.join(chosen)}", now=True)
    audit.close()
    return {**hook.shown(), "secret": hook.secret}


def remove(workspace: Path | None, hook_id: str, by: str) -> dict[str, Any]:
    ws = Workspace.open(workspace)
    engine = store_of(ws)
    if not hooks_store.disable_hook(engine, hook_id, dt.datetime.now(dt.UTC)):
        known = [h.id for h in hooks_store.hooks(engine)]
        raise NotFoundError(f"no active webhook '{hook_id}'{did_you_mean(hook_id, known)}")
    audit = AuditLog(engine)
    audit.record(by, "admin", "remove_webhook", hook_id, None, now=True)
    audit.close()
    return {"id": hook_id, "active": False}


def listed(workspace: Path | None) -> list[dict[str, Any]]:
    """Every hook (secrets never), with its deliveries by state."""
    engine = store_of(Workspace.open(workspace))
    counts = hooks_store.states(engine)
    return [{**h.shown(), "deliveries": counts.get(h.id, {})} for h in hooks_store.hooks(engine, active=False)]


def _event(row: Any) -> dict[str, Any]:
    """An event as a receiver gets it: `id` is the event id, which receivers de-duplicate by."""
    fields = event_fields(row)
    return {"id": fields.pop("event_id"), **fields}


def post(client: httpx.Client, hook: Webhook, claimed: Sequence[Any]) -> tuple[int | None, str | None, int]:
    """One signed POST of the claimed deliveries' events: (status, error, milliseconds)."""
    events = [_event(r) for r in claimed]
    payload: dict[str, Any] = events[0] if hook.batch == 1 else {"events": events}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"tierkit/{__version__}",
        "X-Tierkit-Timestamp": stamp,
        "X-Tierkit-Signature": "sha256=" + sign(hook.secret, stamp, body),
        "X-Tierkit-Event": events[0]["event"] if hook.batch == 1 else "batch",
    }
    start = time.perf_counter()
    try:
        answer = client.post(hook.url, content=body, headers=headers, timeout=hook.timeout)
    except httpx.TimeoutException:
        return None, f"no answer within {hook.timeout:g} s", _ms(start)
    except httpx.HTTPError as err:
        return None, f"{type(err).__name__}: {err}", _ms(start)
    status = answer.status_code
    error = None if 200 <= status < 300 else f"HTTP {status}: {answer.text[:200]}"
    return status, error, _ms(start)


def _ms(start: float) -> int:
    return int((time.perf_counter() - start) * 1000)


def deliver(workspace: Path | None, *, wait: bool = True, most: float | None = None) -> dict[str, Any]:
    """Send the due deliveries of every active hook; with `wait`, until none is pending (or `most`
    seconds have passed). Counts of events delivered, retried and dead-lettered, and POSTs."""
    ws = Workspace.open(workspace)
    engine = store_of(ws)
    active = hooks_store.hooks(engine)
    totals = {"delivered": 0, "retry": 0, "dead": 0, "posts": 0}
    start = time.monotonic()
    with httpx.Client(follow_redirects=False) as client:
        while active:
            sent = False
            for hook in active:
                now = dt.datetime.now(dt.UTC)
                lease = LEASE + dt.timedelta(seconds=hook.timeout)
                claimed = hooks_store.claim(engine, hook.id, now, hook.batch, lease)
                if not claimed:
                    continue
                sent = True
                status, error, took = post(client, hook, claimed)
                outcome = hooks_store.settle(engine, hook, claimed, dt.datetime.now(dt.UTC), status, error, took)
                totals[outcome] += len(claimed)
                totals["posts"] += 1
            if sent:
                continue
            due = hooks_store.next_due(engine, [h.id for h in active])
            spent = time.monotonic() - start
            if not wait or due is None or (most is not None and spent >= most):
                break
            pause = (due - dt.datetime.now(dt.UTC)).total_seconds()
            time.sleep(min(max(pause, 0.01), 5.0, *([most - spent] if most is not None else [])))
    counts = hooks_store.states(engine)
    pending = sum(c.get("pending", 0) for c in counts.values())
    dead_now = sum(c.get("dead", 0) for c in counts.values())
    return {**totals, "pending": pending, "dead_letter": dead_now}


def dead_letters(workspace: Path | None, limit: int = 100) -> list[dict[str, Any]]:
    """The dead-letter list: events whose delivery failed after every retry, newest first."""
    return hooks_store.dead(store_of(Workspace.open(workspace)), limit)


def send_again(workspace: Path | None, hook_id: str | None = None) -> int:
    """Make the dead letters (of one hook, or all) pending again, attempts from zero."""
    return hooks_store.retry_dead(store_of(Workspace.open(workspace)), dt.datetime.now(dt.UTC), hook_id)


def delivery_log(workspace: Path | None, hook_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The last POSTs, newest first: status or error, events, attempt, milliseconds."""
    return hooks_store.log(store_of(Workspace.open(workspace)), hook_id, limit)
