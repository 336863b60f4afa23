"""Every contact the workspace knows of, as one table: the imported contact log and the contacts
logged in tierkit (card, API), for plans and their coverage.

A contact counts for the month of its `at`. Imported contacts carry a date (`contacts` table);
contacts logged in tierkit are instants in the store, counted by their UTC date. The store's rows
arrive as one Arrow table (customer_id, rep_id, at), so that the engine joins them with the
imported file; a workspace with millions of imported contacts and a few thousand logged ones
reads each once.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from sqlalchemy import select

from tierkit.backends import Backend
from tierkit.runs.files import store_of
from tierkit.store.schema import contacts as logged_contacts
from tierkit.tables.readers import read_table
from tierkit.workspace import Workspace

SCHEMA = pa.schema([("customer_id", pa.string()), ("rep_id", pa.string()), ("at", pa.date32())])


def _logged(ws: Workspace, first: dt.date | None, before: dt.date) -> pa.Table:
    """Contacts logged in tierkit before `before` (and from `first`, when given), by UTC date."""
    query = select(logged_contacts.c.customer_id, logged_contacts.c.by, logged_contacts.c.at)
    query = query.where(logged_contacts.c.at < dt.datetime.combine(before, dt.time(), dt.UTC))
    if first is not None:
        query = query.where(logged_contacts.c.at >= dt.datetime.combine(first, dt.time(), dt.UTC))
    ids, reps, days = [], [], []
    with store_of(ws).connect() as con:
        for customer_id, by, at in con.execute(query):
            moment = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
            ids.append(str(customer_id))
            reps.append(str(by))
            days.append(moment.astimezone(dt.UTC).date())
    return pa.table({"customer_id": ids, "rep_id": reps, "at": days}, schema=SCHEMA)


def contacts(backend: Backend, ws: Workspace, first: dt.date | None, before: dt.date) -> ir.Table:
    """(customer_id, rep_id, at) of every contact on or after `first` (None: from the start) and
    before `before`: the imported log and tierkit's own."""
    logged = ibis.memtable(_logged(ws, first, before))
    source = ws.data_file("contacts")
    if source is None:
        return logged
    if source.suffix.lower() == ".parquet" or source.is_dir():
        table = backend.read_parquet(source)
    else:
        table = read_table(backend, "contacts", source).table
    rep = table["rep_id"].cast("string") if "rep_id" in table.columns else ibis.null("string")
    imported = table.select(customer_id=table.customer_id.cast("string"), rep_id=rep, at=table["at"].cast("date"))
    imported = imported.filter(imported["at"] < before)
    if first is not None:
        imported = imported.filter(imported["at"] >= first)
    return imported.union(logged)
