"""A run summary's counts: customers and value per tier, score class and tag, over one relation.

Why apart from runs/summary.py: what a summary counts is fixed by the policy before any row is
read, so it is kept as plain data (`SummaryShape`), and the counting is plain SQL on a DuckDB
connection (backends/duckdb_connection.py). The grading counts with it, and so does a replayed
grading (runs/replay.py), which imports neither Ibis nor the policy model. One code path for
both: a replay's summary is the grading's by construction.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tierkit.backends.base import ValueOutOfRange
from tierkit.backends.duckdb_connection import class_totals, flag_counts


class MissingIds(Exception):
    """Graded rows without a customer id: the caller names the orders file and its rows."""


@dataclass
class ScoreShape:
    name: str
    column: str
    primary: bool
    levels: list[str]
    labels: dict[str, str]


@dataclass
class SummaryShape:
    """What a summary counts and the words it shows, fixed by the policy and the grading plan."""

    policy: str
    policy_hash: str
    as_of: str
    engine: str
    value_metric: str | None
    value_floating: bool  # added at six decimals: the same total whatever order threads add in
    tiers: list[str]
    tier_labels: dict[str, str]
    scores: list[ScoreShape]
    tags: list[str]
    tag_labels: dict[str, Any]

    def tallies(self) -> dict[str, str]:
        """tally name -> column counted."""
        return {"tier": "tier", **{f"score:{s.name}": s.column for s in self.scores}}

    def as_data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SummaryShape:
        return cls(**{**data, "scores": [ScoreShape(**s) for s in data["scores"]]})


class Tally:
    """Customers and value per class of one column."""

    def __init__(self, column: str, value: str | None) -> None:
        self.column, self.value = column, value
        self.customers: dict[str | None, int] = defaultdict(int)
        self.values: dict[str | None, Decimal] = defaultdict(Decimal)

    def add(self, key: str | None, customers: int, value: Any) -> None:
        self.customers[key] += customers
        self.values[key] += Decimal(str(value or 0))

    def rows(self, order: list[str], labels: dict[str, str]) -> list[dict[str, Any]]:
        total_n = sum(self.customers.values()) or 1
        total_v = sum(self.values.values(), Decimal(0))
        present = [k for k in order if k in self.customers]
        ordered: list[str | None] = [*present, *sorted(k for k in self.customers if k not in order and k is not None)]
        if None in self.customers:
            ordered.append(None)
        return [
            {
                "class": key,
                "label": labels.get(key, key) if key is not None else None,
                "customers": self.customers[key],
                "customer_share": round(self.customers[key] / total_n, 4),
                "value": str(self.values[key]) if self.value else None,
                "value_share": float(round(self.values[key] / total_v, 4)) if self.value and total_v else None,
            }
            for key in ordered
        ]


@dataclass
class Counted:
    customers: int
    tags: dict[str, int]
    tallies: dict[str, Tally] = field(default_factory=dict)


def count(raw: Any, relation: str, shape: SummaryShape) -> Counted:
    """Every tally over the graded rows: one scan for the customers, missing ids and tags, and one
    UNION ALL of GROUP BYs for the classes. Raises MissingIds when a row has no customer id
    (checked on one row per customer, not on every order row)."""
    rows, empty, flags = flag_counts(raw, relation, [f"tag_{t}" for t in shape.tags])
    if empty:
        raise MissingIds(empty)
    counted = Counted(rows, dict(zip(shape.tags, flags, strict=True)))
    counted.tallies = {name: Tally(column, shape.value_metric) for name, column in shape.tallies().items()}
    for name, key, n, v in _classes(raw, relation, shape):
        counted.tallies[name].add(key, int(n), v)
    return counted


def _classes(raw: Any, relation: str, shape: SummaryShape) -> list[tuple[Any, ...]]:
    """(tally, class, customers, value) rows. Floating values are added at six decimals, so that
    the total does not depend on the order threads add in (and shown without trailing zeros)."""
    value, columns = shape.value_metric, shape.tallies()
    if value is None or not shape.value_floating:
        return class_totals(raw, relation, columns, value, exact=False)
    try:
        rows = class_totals(raw, relation, columns, value, exact=True)
    except ValueOutOfRange:  # values past DECIMAL(38, 6): added as they are
        return class_totals(raw, relation, columns, value, exact=False)
    return [(t, k, n, Decimal(format(x.normalize(), "f")) if x is not None else x) for t, k, n, x in rows]


def summary_of(shape: SummaryShape, counted: Counted) -> dict[str, Any]:
    """The summary printed and kept in the manifest (without the profit pyramid and the tiers
    kept by stability, which runs/summary.py adds)."""
    scores = {
        s.name: {
            "column": s.column,
            "primary": s.primary,
            "classes": counted.tallies[f"score:{s.name}"].rows(s.levels, s.labels),
        }
        for s in shape.scores
    }
    return {
        "policy": shape.policy,
        "policy_hash": shape.policy_hash,
        "as_of": shape.as_of,
        "engine": shape.engine,
        "customers": counted.customers,
        "value_metric": shape.value_metric,
        "tiers": counted.tallies["tier"].rows(shape.tiers, shape.tier_labels),
        "scores": scores,
        "tags": counted.tags,
        "tag_labels": shape.tag_labels,
    }
