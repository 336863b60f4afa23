"""Sign-in sessions of the web workbench as use cases: open one for a key, find it, end it.

The store keeps them (tierkit.store.web_sessions) so that every worker process sees the same
sessions; this is what the workbench calls, so that sign-in and sign-out are audited here.
"""

from __future__ import annotations

import datetime as dt

from tierkit.app.access import caller_for
from tierkit.app.customers import Caller
from tierkit.app.serving import ServedWorkspace
from tierkit.store import web_sessions
from tierkit.store.web_sessions import WebSession

__all__ = ["WebSession", "end", "find", "sign_in"]


def sign_in(served: ServedWorkspace, key: str, address: str) -> tuple[Caller, str] | None:
    """(the caller, a new session's token) for a valid key; None (audited) for any other."""
    caller = caller_for(served, key) if key else None
    if caller is None:
        served.audit.record("?", "?", "sign_in_failed", address, None)
        return None
    lifetime = dt.timedelta(seconds=served.settings.session_max)
    token, _ = web_sessions.open_session(served.store, caller.name, caller.role, lifetime)
    served.audit.record(caller.name, caller.role, "sign_in", "web", address, now=True)
    return caller, token


def find(served: ServedWorkspace, token: str) -> WebSession | None:
    """The live session of a cookie's token (idle, expired, ended or disabled ones are none)."""
    return web_sessions.find(served.store, token, dt.timedelta(seconds=served.settings.session_idle))


def end(served: ServedWorkspace, token: str, caller: Caller) -> None:
    web_sessions.end(served.store, token)
    served.audit.record(caller.name, caller.role, "sign_out", "web", None)
