"""API users: a name, a role and a key that is shown once and kept only as its sha256.

Keys are 32 random bytes, so a plain sha256 is a safe digest (no dictionary to attack, unlike
passwords); it also makes the lookup one indexed query.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from tierkit.errors import TierkitError
from tierkit.store.schema import users

ROLES = ("admin", "analyst", "agent")
PREFIX = "tk_"


@dataclass(frozen=True)
class User:
    name: str
    role: str


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_user(engine: Engine, name: str, role: str) -> str:
    """Create a user; returns the key, which is not stored and cannot be shown again."""
    if role not in ROLES:
        raise TierkitError(f"unknown role '{role}' (roles: {', '.join(ROLES)})")
    if not re.fullmatch(r"[\w.@\-]{1,100}", name):
        raise TierkitError(f"user name '{name}': use letters, digits, . @ - _ (at most 100)")
    key = PREFIX + secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    try:
        with engine.begin() as con:
            con.execute(insert(users).values(name=name, role=role, key_hash=key_hash(key), created_at=now))
    except IntegrityError as err:
        raise TierkitError(f"user '{name}' already exists") from err
    return key


def new_key(engine: Engine, name: str, role: str) -> str:
    """A fresh key for a user (made if missing, enabled again if disabled); the old key stops
    working. For the demo workspace, whose keys are printed each time it is made."""
    key = PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as con:
        done = con.execute(
            update(users).where(users.c.name == name).values(key_hash=key_hash(key), role=role, disabled_at=None)
        )
        if not done.rowcount:
            now = dt.datetime.now(dt.UTC)
            con.execute(insert(users).values(name=name, role=role, key_hash=key_hash(key), created_at=now))
    return key


def disable_user(engine: Engine, name: str) -> None:
    with engine.begin() as con:
        done = con.execute(update(users).where(users.c.name == name).values(disabled_at=dt.datetime.now(dt.UTC)))
    if not done.rowcount:
        raise TierkitError(f"no user named '{name}'")


def authenticate(engine: Engine, key: str) -> User | None:
    if not key.startswith(PREFIX) or len(key) > 200:
        return None
    with engine.connect() as con:
        row = con.execute(
            select(users.c.name, users.c.role).where(users.c.key_hash == key_hash(key), users.c.disabled_at.is_(None))
        ).first()
    return User(row.name, row.role) if row else None


def list_users(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as con:
        rows = con.execute(select(users.c.name, users.c.role, users.c.created_at, users.c.disabled_at).order_by("name"))
        return [dict(r._mapping) for r in rows]
