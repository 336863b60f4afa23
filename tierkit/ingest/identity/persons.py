"""Grading one customer per person: the link result folds every record id into its person's id.

Orders, interactions and contacts of all of a person's ids count together under the person id
(the cluster's smallest customer id), so a customer whose phone number changed, and who got a
second id with it, keeps his order and complaint history. Of the customers table, the person's
own record stays. Works on both engines: the links are a small Parquet file joined in Ibis.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import ibis
import ibis.expr.types as ir

from tierkit.backends import Backend
from tierkit.engine.inputs import Inputs
from tierkit.tables.readers import SourceTable

LINKS = Path("identity") / "links.parquet"


def clean_leftovers(data_dir: Path) -> list[str]:
    """Remove what a killed `tierkit link` (or `link review --decisions`) left in data/identity:
    links.partial, decisions.partial, and the hidden scratch files of the review list's
    atomic write; their names. tierkit writes nothing else there under a `.partial` suffix or a
    leading dot. Only a writer holding the workspace lock may call it (app.writing): then no link
    is running, so each of them is a leftover, never work in progress."""
    folder = data_dir / LINKS.parent
    if not folder.is_dir():
        return []
    gone = []
    for leftover in sorted(folder.iterdir()):
        if leftover.is_file() and (leftover.suffix == ".partial" or leftover.name.startswith(".")):
            leftover.unlink(missing_ok=True)
            gone.append(leftover.name)
    return gone


def _persons(engine: Backend, links: Path) -> ir.Table:
    table = engine.read_parquet(links)
    merged = table.filter(table.customer_id != table.person_id)  # the ids that fold into another
    return merged.select(__id=merged.customer_id, __person=merged.person_id).distinct()


def fold_ids(engine: Backend, table: ir.Table, links: Path) -> ir.Table:
    """A table with customer_id replaced by the person id wherever the link merged ids."""
    persons = _persons(engine, links)
    joined = table.left_join(persons, table.customer_id == persons.__id)
    return joined.mutate(customer_id=ibis.coalesce(joined.__person, joined.customer_id)).select(*table.columns)


def _fold(source: SourceTable, persons: ir.Table) -> SourceTable:
    table = source.table
    joined = table.left_join(persons, table.customer_id == persons.__id)
    folded = joined.mutate(customer_id=ibis.coalesce(joined.__person, joined.customer_id)).select(*table.columns)
    return dataclasses.replace(source, table=folded)


def _keep_persons(source: SourceTable, persons: ir.Table) -> SourceTable:
    table = source.table
    return dataclasses.replace(source, table=table.anti_join(persons, table.customer_id == persons.__id))


def by_person(engine: Backend, inputs: Inputs, links: Path) -> Inputs:
    """`inputs` with every customer id replaced by its person id (see the module docstring)."""
    persons = _persons(engine, links)
    return Inputs(
        orders=_fold(inputs.orders, persons),
        customers=_keep_persons(inputs.customers, persons) if inputs.customers else None,
        interactions=_fold(inputs.interactions, persons) if inputs.interactions else None,
        contacts=_fold(inputs.contacts, persons) if inputs.contacts else None,
        backend=inputs.backend,
    )
