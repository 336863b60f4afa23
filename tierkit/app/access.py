"""Who is asking: an API key to a caller (name and role), and the audit log they leave.

A verified key is trusted for KEY_TTL seconds per process (a card view must not cost a query);
a disabled key therefore keeps working that long at most. Made-up keys are never remembered,
so they cannot fill memory. The REST API and the web workbench's sign-in both ask here.
"""

from __future__ import annotations

import time
from typing import Any

from tierkit.app.customers import Caller
from tierkit.app.serving import ServedWorkspace
from tierkit.store.audit import entries
from tierkit.store.users import ROLES, authenticate

KEY_TTL = 5.0  # seconds a verified key is trusted before the store is asked again
_keys: dict[str, tuple[float, Caller]] = {}

__all__ = ["KEY_TTL", "ROLES", "audit_entries", "caller_for", "remembered"]


def remembered(key: str) -> Caller | None:
    """The caller of a key verified less than KEY_TTL seconds ago, without asking the store (what
    the rate limiter asks on the event loop first)."""
    cached = _keys.get(key)
    if cached is not None and time.monotonic() - cached[0] <= KEY_TTL:
        return cached[1]
    return None


def caller_for(served: ServedWorkspace, key: str) -> Caller | None:
    """The caller an API key belongs to, or None for an unknown or disabled key."""
    cached = remembered(key)
    if cached is not None:
        return cached
    user = authenticate(served.store, key)
    if user is None:
        _keys.pop(key, None)
        return None
    if len(_keys) > 10_000:
        _keys.clear()
    caller = Caller(user.name, user.role)
    _keys[key] = (time.monotonic(), caller)
    return caller


def audit_entries(served: ServedWorkspace, target: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest audit entries (pending ones written first), optionally for one target."""
    served.audit.flush()
    return entries(served.store, target, limit)
