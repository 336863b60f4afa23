"""Check a policy against the canonical tables without any data.

Builds the whole grading expression over empty, typed stand-ins of the four tables, so every
rule, metric, score and reference is compiled exactly as `grade` will, and nothing runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis

from tierkit.backends import StandIn
from tierkit.canonical import TABLES
from tierkit.engine.grade import Grading, grade_inputs
from tierkit.engine.inputs import Inputs
from tierkit.policy.loader import LoadedPolicy
from tierkit.tables.readers import SourceTable


def stand_in(kind: str) -> SourceTable:
    spec = TABLES[kind]
    table = ibis.table({c.name: c.type for c in spec.columns}, name=f"{kind}_stand_in")
    return SourceTable(spec, Path(f"<{kind}>"), table, 0, 0, frozenset(spec.names))


def check_policy(loaded: LoadedPolicy, as_of: dt.date | None = None) -> Grading:
    """Raises PolicyError on the first problem, as grading would; returns the unrun plan."""
    backend = StandIn()
    kinds = ("orders", "customers", "interactions", "contacts")
    orders, customers, interactions, contacts = (stand_in(kind) for kind in kinds)
    inputs = Inputs(orders, customers, interactions, contacts, backend)
    return grade_inputs(inputs, loaded, as_of or dt.date.today(), backend)
