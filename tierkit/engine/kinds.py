"""How the engine builds a plug-in kind's metrics: it asks the kind's builder for a table.

The engine knows kinds only through the registry (tierkit.policy.kinds): a builder gets the
inputs, the as-of date and every metric of its kind in the policy (a model fits once for all
of them), and returns customer_id and one column per metric name. The engine joins it to the
per-customer table and finishes each metric as that column; rules, tags and scores then read
it like any other metric.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import ibis.expr.types as ir

from tierkit.engine.inputs import Inputs
from tierkit.errors import PolicyError
from tierkit.policy.kinds import kind_named
from tierkit.policy.model import MetricSpec


class TableKind(Protocol):
    """What a plug-in's `build` names: an object with `columns`."""

    def columns(self, inputs: Inputs, as_of: dt.date, specs: dict[str, MetricSpec], where: str) -> ir.Table:
        """customer_id and one column per key of `specs`. With `inputs.runs` False (`tierkit
        check`), typed columns that run nothing: no model is fitted on stand-in tables."""


def plugin_columns(kind: str, inputs: Inputs, as_of: dt.date, specs: dict[str, MetricSpec], where: str) -> ir.Table:
    """customer_id and `__KIND_NAME` per metric of the kind, as the kind's builder makes them."""
    builder: TableKind = kind_named(kind).load("build")
    table = builder.columns(inputs, as_of, specs, where)
    missing = [name for name in ["customer_id", *specs] if name not in table.columns]
    if missing:
        raise PolicyError(f"{where}: the {kind} metric kind gave no column {', '.join(missing)}")
    return table.select("customer_id", **{f"__{kind}_{name}": table[name] for name in specs})
