"""The grading pipeline: inputs -> metrics -> scores -> assignment, as one Ibis expression.

Nothing here pulls order rows into Python: the engine reduces orders to one row per customer,
and only that result is materialized (as Arrow) for output and the summary.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tierkit.engine.assign import assign
from tierkit.engine.backend import Engine, connect
from tierkit.engine.metrics import Inputs, build_metrics
from tierkit.engine.reading import read_inputs
from tierkit.engine.scores import ScoreResult, apply_scores, score_labels
from tierkit.errors import InputError, PolicyError, did_you_mean
from tierkit.policy.loader import LoadedPolicy, load_policy
from tierkit.policy.model import Policy


def parse_as_of(text: str | dt.date) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise InputError(f"--as-of: '{text}' is not a date like 2024-06-30") from None


@dataclass
class Grading:
    """A graded population: the lazy expression, and its Arrow result once computed."""

    engine: Engine
    loaded: LoadedPolicy
    as_of: dt.date
    inputs: Inputs
    expr: ir.Table
    tier_names: list[str]
    tag_names: list[str]
    scores: dict[str, ScoreResult]
    lang: str = "zh"
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @cached_property
    def table(self) -> pa.Table:
        start = time.perf_counter()
        result = self.engine.to_pyarrow(self.expr)
        self.timings["compute_s"] = round(time.perf_counter() - start, 3)
        return result

    @property
    def value_metric(self) -> str | None:
        """The measure for revenue shares and the value pyramid."""
        policy = self.loaded.policy
        for candidate in (policy.value, "spend_12m", "spend_all"):
            if candidate and candidate in self.expr.columns:
                return candidate
        return None

    def summary(self) -> dict[str, Any]:
        from tierkit.runs.summary import summarize

        return summarize(self, self.table)

    def write(self, path: str | Path, fmt: str | None = None) -> dict[str, Any]:
        """Write the result to a file (all or nothing) and return its summary.

        The engine writes Parquet itself; the summary reads back the few columns it counts, and
        other formats are converted from that Parquet. The whole result is never held in Python
        memory, so 100M orders grade in bounded memory.
        """
        from tierkit.runs.output import atomic_path, convert_parquet, output_format, scratch_path
        from tierkit.runs.summary import summarize_file

        start = time.perf_counter()
        path = Path(path)
        fmt = output_format(path, fmt)
        if fmt == "parquet":
            with atomic_path(path) as tmp:
                self.engine.write_parquet(self.expr, tmp)
                summary = summarize_file(self, tmp)
        else:
            with scratch_path(path.parent, ".parquet") as tmp:
                self.engine.write_parquet(self.expr, tmp)
                summary = summarize_file(self, tmp)
                convert_parquet(tmp, path, fmt)
        self.timings["compute_and_write_s"] = round(time.perf_counter() - start, 3)
        return summary


def tier_labels(policy: Policy, names: list[str], lang: str) -> dict[str, str]:
    """Each tier's label in a language: from the tier rules, or the primary score's classes."""
    labels: dict[str, str] = {}
    for rule in policy.tiers:
        labels[rule.name] = rule.label.text(lang, rule.name) if rule.label else rule.name
    if policy.primary:
        labels.update(score_labels(policy.scores[policy.primary], lang))
    return labels


def grade_inputs(inputs: Inputs, loaded: LoadedPolicy, as_of: dt.date, engine: Engine, lang: str = "zh") -> Grading:
    start = time.perf_counter()
    if inputs.engine is None and engine.name != "none":  # models fit on the engine (None: `tierkit check`)
        inputs = dataclasses.replace(inputs, engine=engine)
    metrics, warnings = build_metrics(inputs, loaded, as_of)
    for source in (inputs.orders, inputs.customers, inputs.interactions, inputs.contacts):
        warnings = [*(source.warnings if source else ()), *warnings]
    policy = loaded.policy
    if policy.value is not None and (
        policy.value not in policy.metrics or not metrics[policy.value].type().is_numeric()
    ):
        raise PolicyError(
            f"{loaded.where('value')}: '{policy.value}' is not a numeric metric"
            f"{did_you_mean(policy.value, list(policy.metrics))}"
        )
    scored, scores = apply_scores(metrics, loaded)
    assigned = assign(scored, loaded, scores)
    if policy.primary is not None:
        for key in policy.service:
            if key not in assigned.tier_names:
                raise PolicyError(
                    f"{loaded.where('service', key)}: '{key}' is not a class of score "
                    f"'{policy.primary}'{did_you_mean(key, assigned.tier_names)}"
                )
    table = assigned.table
    labels = tier_labels(loaded.policy, assigned.tier_names, lang)
    label = ibis.cases(*[(table.tier == k, v) for k, v in labels.items()], else_=table.tier) if labels else table.tier
    table = table.mutate(tier_label=label)
    score_cols = [c for r in scores.values() for c in r.columns]
    tag_cols = [f"tag_{t}" for t in assigned.tag_names]
    metric_cols = [
        c
        for c in table.columns
        if c not in {"customer_id", "tier", "tier_label", "tags", "reasons", *score_cols, *tag_cols}
    ]
    table = table.select("customer_id", "tier", "tier_label", *score_cols, "tags", *tag_cols, *metric_cols, "reasons")
    # Rows in customer_id order: the same bytes on every run, thread count and engine.
    table = table.order_by("customer_id")
    grading = Grading(
        engine, loaded, as_of, inputs, table, assigned.tier_names, assigned.tag_names, scores, lang, warnings=warnings
    )
    grading.timings["plan_s"] = round(time.perf_counter() - start, 3)
    return grading


def grade(
    orders: str | Path,
    *,
    policy: str | Path | LoadedPolicy = "retail",
    as_of: str | dt.date,
    customers: str | Path | None = None,
    interactions: str | Path | None = None,
    contacts: str | Path | None = None,
    engine: str | Engine = "duckdb",
    lang: str = "zh",
    maps: dict[str, str] | None = None,
    sheet: str | None = None,
) -> Grading:
    """Grade customers from files with a policy (a preset name, a YAML path, or a loaded policy).

    >>> result = grade("orders.csv", policy="retail", as_of="2024-06-30")  # doctest: +SKIP
    >>> result.table  # one row per customer, as a pyarrow.Table          # doctest: +SKIP
    """
    loaded = policy if isinstance(policy, LoadedPolicy) else load_policy(policy)
    eng = engine if isinstance(engine, Engine) else connect(engine)
    inputs = read_inputs(eng, orders, customers, interactions, contacts, loaded.policy.inputs, maps, sheet)
    return grade_inputs(inputs, loaded, parse_as_of(as_of), eng, lang)
