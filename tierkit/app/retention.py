"""How long the audit log keeps its entries: TIERKIT_AUDIT_RETENTION_DAYS, `tierkit audit prune`,
and the daily prune of `tierkit serve`'s background loop.

The default keeps every entry: what an audit log must hold, and for how long, is the operator's
decision (China's Cybersecurity Law, art. 21, asks for network logs of at least six months; a
personal-information protection audit may ask for more), and an entry removed cannot come back.
Entries of erasures (`forget`) are never removed: they hold no personal data and prove that a
request was honoured.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

from tierkit.errors import InputError
from tierkit.runs.files import store_of
from tierkit.settings import setting
from tierkit.store.audit import prune
from tierkit.workspace import Workspace

DAILY = 24 * 3600.0
KEPT_ACTIONS = ("forget",)
_last: dict[str, float] = {}  # workspace -> when this process last pruned it (monotonic)
_lock = threading.Lock()


def retention_days() -> int | None:
    """TIERKIT_AUDIT_RETENTION_DAYS as a whole number of days, None to keep entries forever."""
    text = (setting("audit_retention_days") or "").strip()
    if not text or text.lower() in ("forever", "none"):
        return None
    try:
        days = int(text)
    except ValueError:
        raise InputError(f"TIERKIT_AUDIT_RETENTION_DAYS: '{text}' is not a whole number of days") from None
    if days < 1:
        raise InputError(f"TIERKIT_AUDIT_RETENTION_DAYS: '{text}' is not a whole number of days")
    return days


def cutoff(before: str | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """The instant before which entries go: --before (a date, at 00:00 UTC, or an instant), else
    the retention setting; None when neither says anything."""
    if before:
        try:
            day = dt.datetime.fromisoformat(before.strip())
        except ValueError:
            raise InputError(f"--before: '{before}' is not a date like 2025-06-30") from None
        return day if day.tzinfo else day.replace(tzinfo=dt.UTC)
    days = retention_days()
    if days is None:
        return None
    return (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)


def prune_audit(workspace: Path | None, before: str | None = None) -> dict[str, Any]:
    """Remove the audit entries older than the cut-off (erasures kept); how many were removed."""
    ws = Workspace.open(workspace)
    until = cutoff(before)
    if until is None:
        raise InputError(
            "nothing to prune: the audit log keeps every entry unless TIERKIT_AUDIT_RETENTION_DAYS is set; "
            "give --before DATE to remove older entries once"
        )
    removed = prune(store_of(ws), until.astimezone(dt.UTC), KEPT_ACTIONS)
    return {
        "workspace": str(ws.root),
        "before": until.isoformat(),
        "removed": removed,
        "kept_actions": list(KEPT_ACTIONS),
    }


def prune_due(served: Any) -> int | None:
    """The background loop's task: once a day per process, the entries past the retention go
    (nothing when the setting keeps them forever). Several workers may prune: it is idempotent."""
    days = retention_days()
    if days is None:
        return None
    key = str(served.workspace.root)
    with _lock:
        last = _last.get(key)
        if last is not None and time.monotonic() - last < DAILY:
            return None
        _last[key] = time.monotonic()
    until = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    return prune(served.store, until, KEPT_ACTIONS)
