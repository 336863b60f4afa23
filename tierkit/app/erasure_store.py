"""The operational store with one person's free text erased (tierkit forget), rows kept.

For the person's rows: contacts' notes, entitlement uses' notes, complaints' details and
resolutions are set to NULL; overrides' and manual tags' reasons (required) to `[erased]`; audit
entries naming them keep their action and the pseudonymous parts of their detail (a run id, a
tier, a channel), free text (a reason, a note) erased. Every text column of every table then has
the person's distinctive values (phone, ID number, e-mail and their masked forms, as a search's
audit entry keeps them) replaced, whoever's row holds them.

SQLite keeps what an UPDATE replaced in free space, in pages it freed and in its write-ahead log:
the updates run with `secure_delete` on, then the database is rebuilt (VACUUM) and the log
checkpointed and truncated, so that the bytes of tierkit.db, -wal and -shm no longer hold them.
PostgreSQL keeps old row versions until a VACUUM, run here on the tables changed; its own
write-ahead log and base backups are the operator's (docs/reliability.md).
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Engine, String, Text, func, or_, select, update

from tierkit.app.erasure_files import ERASED, Person
from tierkit.store import schema

FREE_TEXT_KEYS = ("reason", "note", "resolution", "detail", "text", "comment")
KEPT_DETAILS = ("contact", "untag", "complaint", "publish")  # plain details that are a channel, a tag, a topic
SKIPPED = ("users", "locks", "webhooks", "alembic_version")  # staff and machinery: no customer's text


def _audit_detail(action: str, detail: str | None, person: Person) -> str | None:
    """An audit entry's detail with the free text erased and the pseudonymous parts kept."""
    if detail is None or action == "forget":  # an erasure's record holds no erased value: kept as written
        return detail
    try:
        found = json.loads(detail)
    except ValueError:
        found = None
    if isinstance(found, dict):
        kept = {k: (ERASED if k in FREE_TEXT_KEYS and v not in (None, "") else v) for k, v in found.items()}
        return person.scrub(json.dumps(kept, ensure_ascii=False))
    if action.startswith("view_") or action in KEPT_DETAILS:
        return person.scrub(detail)
    return ERASED


def erase_store(engine: Engine, person: Person) -> dict[str, int]:
    """Erase the person's free text and distinctive values; rows changed per table."""
    ids = sorted(person.ids)
    changed: dict[str, int] = {}
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as con:
        if sqlite:
            con.exec_driver_sql("PRAGMA secure_delete = ON")

        def count(table: str, rows: int) -> None:
            if rows:
                changed[table] = changed.get(table, 0) + rows

        for table, values in (
            (schema.contacts, {"note": None}),
            (schema.entitlement_uses, {"note": None}),
            (schema.complaints, {"detail": None, "resolution": None}),
            (schema.overrides, {"reason": ERASED}),
            (schema.manual_tags, {"reason": ERASED}),
        ):
            differs = [table.c[k].is_not(None) if v is None else table.c[k] != v for k, v in values.items()]
            done = con.execute(
                update(table).where(table.c.customer_id.in_(ids), or_(*differs)).values(**values)
            ).rowcount
            count(table.name, done or 0)
        audit = schema.audit
        for row in con.execute(select(audit.c.id, audit.c.action, audit.c.detail).where(audit.c.target.in_(ids))):
            detail = _audit_detail(row.action, row.detail, person)
            if detail != row.detail:
                con.execute(update(audit).where(audit.c.id == row.id).values(detail=detail))
                count("audit", 1)
        for table in schema.metadata.sorted_tables:
            if table.name in SKIPPED:
                continue
            for column in table.columns:
                if not isinstance(column.type, String | Text) or column.primary_key or not person.distinctive:
                    continue
                replaced: Any = column
                for value in person.distinctive:  # longest first: a masked form inside a longer value
                    replaced = func.replace(replaced, value, ERASED)
                found = or_(*(column.contains(value, autoescape=True) for value in person.distinctive))
                done = con.execute(update(table).where(found).values({column.name: replaced})).rowcount
                count(table.name, done or 0)  # one pass over the column, whatever the number of values
        if sqlite:
            con.exec_driver_sql("PRAGMA secure_delete = OFF")
    return changed


def compact(engine: Engine, tables: list[str] | None = None) -> str | None:
    """Leave no copy of replaced values in the database files; a note when that could not be done
    now (a reader held the write-ahead log)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as con:
            con = con.execution_options(isolation_level="AUTOCOMMIT")
            con.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            con.exec_driver_sql("VACUUM")
            busy = None
            for _ in range(50):
                busy = con.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
                if busy is not None and not busy[0]:
                    return None
                time.sleep(0.1)
        return "the store's write-ahead log is still read by another process; it is emptied at its next checkpoint"
    if engine.dialect.name == "postgresql":
        with engine.connect() as con:
            con = con.execution_options(isolation_level="AUTOCOMMIT")
            for table in tables or []:
                if table in schema.metadata.tables:
                    con.exec_driver_sql(f'VACUUM "{table}"')
        return None
    return None


def erased_rows(engine: Engine, person: Person) -> dict[str, Any]:
    """How many rows of each table still name the person (for the report; the rows are kept)."""
    ids = sorted(person.ids)
    found: dict[str, Any] = {}
    with engine.connect() as con:
        for table in schema.metadata.sorted_tables:
            column = table.c.get("customer_id")
            if column is None:
                continue
            n = con.execute(select(func.count()).select_from(table).where(column.in_(ids))).scalar() or 0
            if n:
                found[table.name] = n
    return found
