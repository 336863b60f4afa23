"""Whether the churn model earns its place: a check against recency inside its own training
period, and the baseline that is served when it fails.

The rule. A model about to be trained as of `cutoff` (labels: who ordered up to the as-of date)
is first validated out of time: the same kind of model, trained one horizon earlier (as of
cutoff − horizon, labels up to cutoff), ranks the customers as of `cutoff`, and its AUC for who
then bought nothing up to the as-of date is compared with that of recency alone (days since the
last order) on the same customers. The model is used only when its AUC is at least MARGIN above
recency's. Otherwise, and when there is too little history or only one outcome to validate on,
the churn metrics serve the recency baseline, and say so.

Why out of time and not a split of customers at one cut-off: the model is used a horizon after
the data it learned from, on customers whose histories have grown since. A customer split shares
the training cut-off's circumstances with the training half and misses exactly the failure this
guards against: on CDNOW with a 270-day horizon, every customer at the training cut-off had at
most 5 days of history, and the model ranked the next horizon's customers at AUC 0.30 against
recency's 0.76. The validation uses only outcomes up to the as-of date, as training does.

Why MARGIN = 0.01: a model whose ranking the staff cannot check against the last order date has
to pay for itself; under a point of AUC is within what a second cut-off of a few thousand
customers moves by (CDNOW's 90- and 180-day backtests differ by more than that), and recency is
what the baseline serves anyway.

The baseline is recency alone, calibrated: a logistic regression on days since the last order,
trained as the model would be. Its ranking is recency's (its weight is kept at or above 0), and
its risk stays a probability, so a rule such as `churn_risk >= 0.7` keeps its meaning. Not
1 − P(alive): on CDNOW that ranks below chance (BG/NBD holds one-time buyers alive), see
docs/churn.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np

from tierkit.engine.inputs import Inputs
from tierkit.models.churn_model import ChurnModel, before, fit, labelled, outcomes, short_history

MARGIN = 0.01  # AUC points the model must lead recency by on validation
BASELINE = "recency_days"  # the one signal of the fallback
Status = Literal["passed", "failed", "not_enough_history", "one_outcome"]


@dataclass(frozen=True)
class Validation:
    """The outcome of validating the churn model; `as_dict` is what reports and manifests carry."""

    status: Status
    horizon: str
    trained_as_of: dt.date  # the validation model's cut-off
    validated_as_of: dt.date  # the cut-off the served model trains on
    outcomes_until: dt.date
    customers: int = 0
    churn_rate: float | None = None
    model_auc: float | None = None
    recency_auc: float | None = None
    detail: str = ""  # why it could not be validated

    @property
    def uses_model(self) -> bool:
        return self.status == "passed"

    @property
    def used(self) -> Literal["model", "recency_baseline"]:
        return "model" if self.uses_model else "recency_baseline"

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        for key in ("trained_as_of", "validated_as_of", "outcomes_until"):
            found[key] = found[key].isoformat()
        del found["horizon"]
        return {**found, "margin": MARGIN}

    def finding(self) -> str:
        """What the validation found, in one clause."""
        if self.status in ("not_enough_history", "one_outcome"):
            return f"the churn model could not be validated: {self.detail}"
        verdict = "beat" if self.uses_model else "did not beat"
        return (
            f"the churn model {verdict} recency on validation: AUC {self.model_auc:.3f} against recency's "
            f"{self.recency_auc:.3f} (it must lead by {MARGIN}; trained as of {self.trained_as_of}, validated "
            f"as of {self.validated_as_of} on {self.customers:,} customers, outcomes up to {self.outcomes_until})"
        )

    def note(self) -> str | None:
        """The grading's warning when the baseline is served (None when the model is)."""
        if self.uses_model:
            return None
        return f"{self.finding()}; churn metrics use the recency baseline (days since the last order)"


def auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, score)), 4)


def validate(inputs: Inputs, cutoff: dt.date, horizon: str, engine: Any, held_out: Any, until: dt.date) -> Validation:
    """Validate the model about to be trained as of `cutoff` on `held_out` (`labelled` as of
    `cutoff`, outcomes up to `until`): a model trained one horizon earlier against recency."""
    trained_as_of = before(cutoff, horizon)
    plain = Validation("not_enough_history", horizon, trained_as_of, cutoff, until)
    short = short_history(inputs, trained_as_of, horizon)
    if short is not None:
        return replace(plain, detail=short)
    y = outcomes(held_out)
    rate = round(float(y.mean()), 4) if len(y) else None
    earlier = labelled(inputs, trained_as_of, horizon, engine, until=cutoff)
    for labels, at, end in ((y, cutoff, until), (outcomes(earlier), trained_as_of, cutoff)):
        if len(set(labels)) < 2:
            gone = "churned" if len(labels) and labels.all() else "stayed"
            detail = f"as of {at}, every customer {gone} by {end}"
            return replace(plain, status="one_outcome", customers=len(y), churn_rate=rate, detail=detail)
    model = fit(earlier)
    recency = np.asarray(held_out[BASELINE].to_numpy(zero_copy_only=False), dtype=float)
    model_auc, recency_auc = auc(y, model.probabilities(held_out)), auc(y, recency)
    passed = round(model_auc - recency_auc, 4) >= MARGIN
    return replace(
        plain,
        status="passed" if passed else "failed",
        customers=len(y),
        churn_rate=rate,
        model_auc=model_auc,
        recency_auc=recency_auc,
    )


def baseline(table: Any) -> ChurnModel:
    """Recency alone, calibrated on a labelled table (module docstring): never a negative weight,
    so that it ranks as recency does; with none to give, the churn rate for everyone."""
    model = fit(table, [BASELINE])
    if model.names and model.coef[0] > 0:
        return model
    rate = float(outcomes(table).mean())
    return ChurnModel([], np.zeros(0), np.ones(0), np.zeros(0), float(np.log(rate / (1 - rate))))


def served(validation: Validation, table: Any) -> ChurnModel:
    """The model the churn metrics use: the full model when it passed, else the baseline,
    both fitted on `table` (the served cut-off's labelled signals)."""
    return fit(table) if validation.uses_model else baseline(table)
