"""The grading pipeline: inputs -> metrics -> scores -> assignment, as one Ibis expression.

Nothing here pulls order rows into Python: the engine reduces orders to one row per customer,
and only that result is materialized (as Arrow). A `Grading` is pure: writing it, counting
its summary and keeping it as a run belong to tierkit.runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from tierkit.backends import Backend
from tierkit.engine.assign import assign
from tierkit.engine.inputs import Inputs
from tierkit.engine.metrics import build_metrics
from tierkit.engine.profit import check_profit
from tierkit.engine.scores import ScoreResult, apply_scores
from tierkit.errors import InputError, PolicyError, did_you_mean
from tierkit.policy.labels import tier_labels
from tierkit.policy.loader import LoadedPolicy
from tierkit.policy.reads import score_reads
from tierkit.policy.stability import COLUMNS as STABILITY_COLUMNS
from tierkit.settings import DEFAULT_LANG

if TYPE_CHECKING:
    import pyarrow as pa


def parse_as_of(text: str | dt.date) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError as err:
        raise InputError(f"--as-of: '{text}' is not a date like 2024-06-30") from err


@dataclass
class Grading:
    """A graded population: the lazy expression, and its Arrow result once computed."""

    engine: Backend
    loaded: LoadedPolicy
    as_of: dt.date
    inputs: Inputs
    expr: ir.Table
    tier_names: list[str]
    tag_names: list[str]
    scores: dict[str, ScoreResult]
    lang: str = DEFAULT_LANG
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # plug-in kinds' model status, by kind
    stability: dict[str, Any] | None = None  # the run `stability:` continued from (its id and as-of), for the manifest

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


def grade_inputs(
    inputs: Inputs,
    loaded: LoadedPolicy,
    as_of: dt.date,
    engine: Backend,
    lang: str = DEFAULT_LANG,
    previous: ir.Table | None = None,
) -> Grading:
    """`previous`: the previous run's result read by `engine`, for the policy's `stability:`
    (ignored without it); None grades as if there were no previous run."""
    start = time.perf_counter()
    if inputs.backend is None:  # models fit where the grading runs (a StandIn for `tierkit check`)
        inputs = dataclasses.replace(inputs, backend=engine)
    metrics, warnings, models, constants = build_metrics(inputs, loaded, as_of)
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
    # a metric that is one value for everyone stays out of the scores' windows over all customers
    # (the window carries every column it is given) and comes back as its literal for the rules
    scores_read = {name for spec in policy.scores.values() for name in score_reads(spec)}
    aside = {n: v for n, v in constants.items() if n not in scores_read}
    scored, scores = apply_scores(metrics.drop(*aside) if aside else metrics, loaded, one_pass=engine.name == "duckdb")
    if aside:
        scored = scored.mutate(**aside)
    assigned = assign(scored, loaded, scores, as_of, previous)
    check_profit(loaded, metrics, assigned.tier_names)
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
    stable_cols = [c for c in STABILITY_COLUMNS if policy.stability is not None and c in table.columns]
    named = {"customer_id", "tier", "tier_label", "tags", "reasons", *score_cols, *tag_cols, *stable_cols}
    # the metrics table's order (the constants set aside came back last), then what scores added
    metric_cols = [c for c in metrics.columns if c not in named] + [
        c for c in table.columns if c not in named and c not in metrics.columns
    ]
    table = table.select(
        "customer_id", "tier", "tier_label", *stable_cols, *score_cols, "tags", *tag_cols, *metric_cols, "reasons"
    )
    # Rows in customer_id order: the same bytes on every run, thread count and engine.
    table = table.order_by("customer_id")
    grading = Grading(
        engine,
        loaded,
        as_of,
        inputs,
        table,
        assigned.tier_names,
        assigned.tag_names,
        scores,
        lang,
        warnings=warnings,
        models=models,
    )
    grading.timings["plan_s"] = round(time.perf_counter() - start, 3)
    return grading
