"""Writes done once however often a client sends them: the Idempotency-Key of a POST.

Why: a client that sent an override or a contact and got no answer (the database restarted
mid-commit, a proxy timed out, the network dropped the reply) cannot know whether it was
written. Sending it again without a key may write it twice (two contacts logged, two overrides
in the history); not sending it may lose it. With `Idempotency-Key: K` (any unique string, a
UUID by custom; draft-ietf-httpapi-idempotency-key-header) the row carries K, under a unique
index on (author, K), in the same transaction as the write itself: so either both are there
or neither. A request whose key its author used before is not written again; the first
write's row is its answer. Two at the same moment: the index lets one commit, the other
finds it. The same key for a different request (another customer, another text) is refused
(422), as the draft says.

Keys are kept with their rows (as long as the row itself); they name nothing personal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, Table, select
from sqlalchemy.exc import IntegrityError

from tierkit.errors import RequestError, ValueRefusedError

MAX_KEY = 200  # characters; a UUID has 36


def checked_key(key: str) -> str:
    """The key as sent, if it is 1 to MAX_KEY printable ASCII characters; else a 400."""
    if not 1 <= len(key) <= MAX_KEY or not key.isascii() or not key.isprintable():
        raise RequestError(f"Idempotency-Key: 1 to {MAX_KEY} printable ASCII characters (a UUID, say), not {key!r}")
    return key


def insert_once(
    engine: Engine, table: Table, author: str, values: Mapping[str, Any], key: str | None
) -> tuple[dict[str, Any], bool]:
    """Insert `values` as one row of `table`, once per (`values[author]`, key): (the row, True)
    when it was written now, (the first write's row, False) when the key was used before for
    the same request. Without a key the row is always written."""
    if key is None:
        with engine.begin() as con:
            con.execute(table.insert().values(**values))
        return dict(values), True
    key = checked_key(key)
    earlier = _written(engine, table, author, values[author], key)
    if earlier is None:
        try:
            with engine.begin() as con:
                con.execute(table.insert().values(**values, request_key=key))
            return dict(values), True
        except IntegrityError:  # the same key at the same moment: the other request committed first
            earlier = _written(engine, table, author, values[author], key)
            if earlier is None:
                raise
    _same_request(earlier, values, key)
    return earlier, False


def _written(engine: Engine, table: Table, author: str, by: str, key: str) -> dict[str, Any] | None:
    query = select(table).where(table.c[author] == by, table.c.request_key == key)
    with engine.connect() as con:
        row = con.execute(query).first()
    return {k: _aware(v) for k, v in row._mapping.items()} if row is not None else None


def _aware(value: Any) -> Any:
    """SQLite gives instants back without their zone (they were stored in UTC)."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _same_request(earlier: Mapping[str, Any], values: Mapping[str, Any], key: str) -> None:
    """The first write under `key` asked what this one asks (its instant of writing aside)."""
    differ = sorted(
        name
        for name, value in values.items()
        if name not in ("at", "created_at") and _aware(value) != earlier.get(name)
    )
    if differ:
        raise ValueRefusedError(
            f"Idempotency-Key {key!r} was used for another request (its {', '.join(differ)} differed): "
            "a new request needs a new key"
        )
