"""Check a policy against the canonical tables without any data.

Builds the whole grading expression over empty, typed stand-ins of the four tables, so every
rule, metric, score and reference is compiled exactly as `grade` will, and nothing runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import ibis

from tierkit.backends import StandIn
from tierkit.canonical import TABLES
from tierkit.engine.grade import Grading, grade_inputs
from tierkit.engine.inputs import Inputs
from tierkit.engine.stability import previous_stand_in
from tierkit.policy.loader import LoadedPolicy
from tierkit.tables.readers import SourceTable


def stand_in(kind: str, attributes: Mapping[str, str] | None = None) -> SourceTable:
    """An empty typed table of a kind; a customers one with the attribute columns a real file has."""
    spec = TABLES[kind]
    extra = dict(attributes or {})
    table = ibis.table({**{c.name: c.type for c in spec.columns}, **extra}, name=f"{kind}_stand_in")
    return SourceTable(spec, Path(f"<{kind}>"), table, 0, 0, frozenset(spec.names), attributes=tuple(extra))


def check_policy(
    loaded: LoadedPolicy, as_of: dt.date | None = None, attributes: Mapping[str, str] | None = None
) -> Grading:
    """Raises PolicyError on the first problem, as grading would; returns the unrun plan.
    `attributes`: a customers file's own columns and their types, so rules on them check too."""
    backend = StandIn()
    orders, interactions, contacts = (stand_in(kind) for kind in ("orders", "interactions", "contacts"))
    customers = stand_in("customers", attributes)
    inputs = Inputs(orders, customers, interactions, contacts, backend)
    previous = previous_stand_in() if loaded.policy.stability is not None else None  # the join compiles too
    return grade_inputs(inputs, loaded, as_of or dt.date.today(), backend, previous=previous)
