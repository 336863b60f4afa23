"""Sign-in sessions of the web workbench, kept in the store so that every worker process sees them.

The browser holds a random token in an HttpOnly cookie; the store keeps only its sha256 (a
leaked store opens no session). A session ends at sign-out, after `idle` seconds without a
request, at its absolute expiry, or when its user is disabled: `find` checks all four, so a
disabled key cannot keep browsing on a session it opened before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select, update

from tierkit.store.schema import users, web_sessions

SEEN_EVERY = dt.timedelta(seconds=30)  # how stale `seen_at` may be before a request writes it


@dataclass(frozen=True)
class WebSession:
    user_name: str
    role: str
    csrf: str
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def open_session(engine: Engine, user_name: str, role: str, lifetime: dt.timedelta) -> tuple[str, WebSession]:
    """A new session for a signed-in user: (the cookie's token, the session)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    found = WebSession(user_name, role, csrf, now + lifetime)
    with engine.begin() as con:
        con.execute(delete(web_sessions).where(web_sessions.c.expires_at < now - dt.timedelta(days=7)))
        con.execute(
            insert(web_sessions).values(
                token_hash=_digest(token),
                user_name=user_name,
                role=role,
                csrf=csrf,
                created_at=now,
                seen_at=now,
                expires_at=found.expires_at,
            )
        )
    return token, found


def find(engine: Engine, token: str, idle: dt.timedelta) -> WebSession | None:
    """The live session of a cookie's token, or None (unknown, ended, idle too long, expired,
    or its user disabled); a live one is marked seen now."""
    if not token or len(token) > 100:
        return None
    now = dt.datetime.now(dt.UTC)
    key = _digest(token)
    query = (
        select(web_sessions, users.c.disabled_at)
        .join(users, users.c.name == web_sessions.c.user_name)
        .where(web_sessions.c.token_hash == key)
    )
    with engine.connect() as con:
        row = con.execute(query).first()
    if row is None or row.ended_at is not None or row.disabled_at is not None:
        return None
    seen, expires = _aware(row.seen_at), _aware(row.expires_at)
    if now >= expires or now - seen > idle:
        return None
    if now - seen > SEEN_EVERY:
        with engine.begin() as con:
            con.execute(update(web_sessions).where(web_sessions.c.token_hash == key).values(seen_at=now))
    return WebSession(row.user_name, row.role, row.csrf, expires)


def end(engine: Engine, token: str) -> None:
    """Sign out: the token opens nothing any more."""
    with engine.begin() as con:
        con.execute(
            update(web_sessions)
            .where(web_sessions.c.token_hash == _digest(token), web_sessions.c.ended_at.is_(None))
            .values(ended_at=dt.datetime.now(dt.UTC))
        )
