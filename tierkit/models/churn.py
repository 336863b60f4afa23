"""Churn early warning: the `churn:` metric kind and the backtest, on a model that earns its place.

The pieces: models.churn_signals (what each signal means, which way it points toward leaving),
models.churn_words (the card's words for them, the kind's `display`), models.churn_model
(signals as of a cut-off, labels, the logistic fit), models.churn_validation (the out-of-time
check against recency, and the recency baseline served when the model fails it). Here they are put to the two uses:

- grading (`churn: risk`, `churn: signals`): check the history, validate, train the model or the
  baseline as of as-of − horizon on what happened up to the as-of date, and score every customer
  in the engine; say which was served (a note among the grading's warnings when the baseline
  was, and a status for the manifest);
- the backtest: train as of as-of − 2·horizon and test as of as-of − horizon against two
  baselines measured in the same run, recency alone and P(alive) alone, and tell whether the
  model would have been used (its validation inside its own training period).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import numpy as np

from tierkit.engine.inputs import Inputs
from tierkit.engine.kinds import KindColumns
from tierkit.errors import InputError, PolicyError
from tierkit.models.churn_model import (
    before,
    earliest_as_of,
    features,
    fit,
    labelled,
    longest_horizon,
    outcomes,
    short_history,
)
from tierkit.models.churn_signals import reasons_text
from tierkit.models.churn_validation import auc, served, validate
from tierkit.models.kinds import ChurnParameters
from tierkit.policy.model import MetricSpec


class ChurnMetrics:
    """The `churn:` metric kind's builder (see tierkit.engine.kinds.TableKind)."""

    def columns(self, inputs: Inputs, as_of: dt.date, specs: dict[str, MetricSpec], where: str) -> KindColumns:
        return churn_metrics(inputs, as_of, specs, where)


CHURN_METRICS = ChurnMetrics()


def churn_metrics(inputs: Inputs, as_of: dt.date, specs: dict[str, MetricSpec], where: str) -> KindColumns:
    """customer_id and one column per churn metric (named as the metric): the risk (0..1) or
    the signals that drove it ('signal=value;...'); the note and status of the validation."""
    chosen = {name: ChurnParameters.model_validate(spec.parameters.model_dump()) for name, spec in specs.items()}
    horizons = {spec.horizon for spec in chosen.values()}
    if len(horizons) > 1:
        raise PolicyError(
            f"{where}: all churn metrics of a policy use one horizon (found {', '.join(sorted(horizons))})"
        )
    horizon = horizons.pop()
    table = features(inputs, as_of)
    if not inputs.runs:  # `tierkit check`: stand-in tables, nothing to train on
        blank = {n: ibis.null("float64" if s.churn == "risk" else "string") for n, s in chosen.items()}
        return KindColumns(table.select("customer_id", **blank))
    cutoff = before(as_of, horizon)
    short = short_history(inputs, cutoff, horizon)
    if short is not None:
        raise PolicyError(f"{where}: the churn model cannot be trained: {short}; {_remedy(inputs, as_of, horizon, 1)}")
    training = labelled(inputs, cutoff, horizon, inputs.backend, until=as_of)
    validation = validate(inputs, cutoff, horizon, inputs.backend, training, until=as_of)
    try:
        model = served(validation, training)
    except InputError as err:
        raise PolicyError(f"{where}: the churn model cannot be trained: as of {cutoff}, {err}") from err
    columns = {
        name: model.risk(table).round(6) if spec.churn == "risk" else reasons_text(model, table)
        for name, spec in chosen.items()
    }
    status = {
        "used": validation.used,
        "horizon": horizon,
        "trained_as_of": cutoff.isoformat(),
        "outcomes_until": as_of.isoformat(),
        "metrics": list(chosen),
        "weights": model.weights(),
        "intercept": round(model.intercept, 4),
        "validation": validation.as_dict(),
    }
    note = validation.note()
    notes = [f"{where} ({', '.join(chosen)}): {note}"] if note else []
    return KindColumns(table.select("customer_id", **columns), notes, status)


def _remedy(inputs: Inputs, as_of: dt.date, horizon: str, cutoffs: int) -> str:
    """What to change when the history is too short: a horizon that fits, or a later as-of date
    (the backtest's options, or the policy's horizon and the grading's as-of)."""
    first = inputs.orders.first
    assert first is not None  # short_history found it too short, so there is a first order
    shorter = longest_horizon(first, as_of, cutoffs)
    later = earliest_as_of(first, horizon, cutoffs)
    if cutoffs == 1:
        fits = f"a horizon of {shorter} or shorter in the churn metrics, or " if shorter else ""
        return f"give {fits}grade as of {later} or later"
    fits = f"a --horizon of {shorter} or shorter, or " if shorter else ""
    return f"give {fits}an --as-of of {later} or later"


def _precision_at_top(score: np.ndarray, y: np.ndarray, share: float = 0.1) -> float:
    top = max(1, round(share * len(score)))
    order = np.argsort(-score, kind="stable")[:top]
    return float(y[order].mean())


def backtest(inputs: Inputs, as_of: dt.date, horizon: str, engine: Any) -> dict[str, Any]:
    """Train as of (as_of − 2·horizon), test as of (as_of − horizon) against what happened by
    as_of; and whether the model would be used, by its validation before the training cut-off."""
    test_cut = before(as_of, horizon)
    train_cut = before(test_cut, horizon)
    short = short_history(inputs, train_cut, horizon)
    if short is not None:
        raise InputError(
            f"--horizon {horizon} is too long for this history: {short} (the training cut-off is the as-of "
            f"date minus twice the horizon); {_remedy(inputs, as_of, horizon, 2)}"
        )
    training = labelled(inputs, train_cut, horizon, engine, until=test_cut)
    validation = validate(inputs, train_cut, horizon, engine, training, until=test_cut)
    try:
        model = fit(training)
    except InputError as err:
        raise InputError(f"as of {train_cut}, {err}") from err
    test = labelled(inputs, test_cut, horizon, engine, until=as_of)
    y = outcomes(test)
    if len(set(y)) < 2:
        raise InputError(f"as of {test_cut}, every customer {'churned' if y.all() else 'stayed'}: cannot test")
    scores = {
        "model": model.probabilities(test),
        "recency": _column(test, "recency_days"),
        "p_alive": 1 - _column(test, "p_alive"),
    }
    report: dict[str, Any] = {
        name: {"auc": auc(y, s), "precision_top_decile": round(_precision_at_top(s, y), 4)}
        for name, s in scores.items()
    }
    train_y = outcomes(training)
    report.update(
        as_of=as_of.isoformat(),
        horizon=horizon,
        train_cutoff=train_cut.isoformat(),
        test_cutoff=test_cut.isoformat(),
        train={"customers": len(train_y), "churn_rate": round(float(train_y.mean()), 4)},
        test={"customers": len(y), "churn_rate": round(float(y.mean()), 4)},
        weights=model.weights(),
        validation=validation.as_dict(),
        used=validation.used,
    )
    return report


def _column(table: Any, name: str) -> np.ndarray:
    values = np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=float)
    return np.where(np.isnan(values), np.nanmean(values) if (~np.isnan(values)).any() else 0.0, values)
