"""How the engine builds a plug-in kind's metrics: it asks the kind's builder for a table.

The engine knows kinds only through the registry (tierkit.policy.kinds): a builder gets the
inputs, the as-of date and every metric of its kind in the policy (a model fits once for all
of them), and returns customer_id and one column per metric name. The engine joins it to the
per-customer table and finishes each metric as that column; rules, tags and scores then read
it like any other metric.

A builder may also have something to say about what it built: a model that fell back to a
baseline, say. It then returns `KindColumns`: the table, notes (sentences that join the
grading's warnings, which the CLI prints and the manifest stores) and a status (plain JSON
data, which the manifest keeps under `models`, by kind). A builder with nothing to say returns
the table alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

import ibis.expr.types as ir

from tierkit.engine.inputs import Inputs
from tierkit.errors import PolicyError
from tierkit.policy.kinds import kind_named
from tierkit.policy.model import MetricSpec


@dataclass
class KindColumns:
    """A builder's table, and what it has to say about it."""

    table: ir.Table
    notes: list[str] = field(default_factory=list)  # joined to the grading's warnings
    status: dict[str, Any] = field(default_factory=dict)  # JSON data: the manifest's models[kind]


class TableKind(Protocol):
    """What a plug-in's `build` names: an object with `columns`."""

    def columns(
        self, inputs: Inputs, as_of: dt.date, specs: dict[str, MetricSpec], where: str
    ) -> ir.Table | KindColumns:
        """customer_id and one column per key of `specs` (alone, or with notes in KindColumns).
        With `inputs.runs` False (`tierkit check`), typed columns that run nothing: no model
        is fitted on stand-in tables."""


def plugin_columns(
    kind: str,
    inputs: Inputs,
    as_of: dt.date,
    specs: dict[str, MetricSpec],
    where: str,
    notes: list[str] | None = None,
    models: dict[str, dict[str, Any]] | None = None,
) -> ir.Table:
    """customer_id and `__KIND_NAME` per metric of the kind, as the kind's builder makes them.
    The builder's notes are appended to `notes` and its status is put in `models[kind]`, when
    the caller gives them (the grading's warnings and the manifest's models)."""
    builder: TableKind = kind_named(kind).load("build")
    built = builder.columns(inputs, as_of, specs, where)
    said = built if isinstance(built, KindColumns) else KindColumns(built)
    table = said.table
    if notes is not None:
        notes.extend(said.notes)
    if models is not None and said.status:
        models[kind] = said.status
    missing = [name for name in ["customer_id", *specs] if name not in table.columns]
    if missing:
        raise PolicyError(f"{where}: the {kind} metric kind gave no column {', '.join(missing)}")
    return table.select("customer_id", **{f"__{kind}_{name}": table[name] for name in specs})
