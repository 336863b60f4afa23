"""The churn signals: what each one measures, which way it points toward leaving, and which are a
customer's reasons (the card's words for them: models.churn_words).

Why the rule for naming a signal lives here, apart from the model: a logistic weight can come
out with the "wrong" sign (a few late payers who happened to stay give `late_payments_12m` a
negative weight), and then weight × standardized value is positive for every customer *below*
the mean: a card would say "pays late" of a customer who never did. So a signal is a reason for
one customer only when both hold:

1. its contribution to the log-odds, weight × (value − mean) / scale, is positive; and
2. the customer's value lies on the leaving side of the training population's mean, the side
   churn_features.yaml declares (`leaving: up`: above it; `down`: below it).

With (2), a count whose leaving side is "up" and whose value is 0 is never named (the mean of a
count is at least 0). The reasons are the three largest contributions, largest first, each
carried with the customer's own value so that the card says it in words ("付款延迟 2 次 / 12 个月").

The value travels in the metric as text, `late_payments_12m=2;recency_days=210`, built in the
engine from integers only (the value times 10^decimals, rounded): integer-to-text is the same on
every engine, where float-to-text is not (Spark writes 1.0E-4, DuckDB 0.0001).
"""

from __future__ import annotations

from typing import Protocol

import ibis
import ibis.expr.types as ir
import numpy as np

from tierkit.engine.inputs import Inputs
from tierkit.models.churn_words import SEPARATOR, Signal, catalogue, parse_reasons, reason_words
from tierkit.policy.model import MetricSpec

__all__ = [  # the catalogue and its words are models.churn_words' (a card reads them without Ibis)
    "SEPARATOR",
    "TOP",
    "Signal",
    "catalogue",
    "encoded",
    "parse_reasons",
    "reason_words",
    "reasons_text",
    "usable_signals",
]

TOP = 3  # reasons a card lists


def usable_signals(inputs: Inputs) -> dict[str, MetricSpec]:
    """The metric signals the inputs can feed (interactions-based ones need an interactions
    file, late payments a `paid_at` column)."""
    found = {}
    for name, signal in catalogue().items():
        if signal.metric is None:
            continue
        metric = MetricSpec.model_validate(signal.metric)
        if metric.count == "interactions" and inputs.interactions is None:
            continue
        if metric.where and "paid_at" in metric.where and "paid_at" not in inputs.orders.present:
            continue
        found[name] = metric
    return found


class Weights(Protocol):
    """What the rule reads of a fitted model (models.churn_model.ChurnModel)."""

    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray


def encoded(value: ir.NumericValue, decimals: int) -> ir.StringValue:
    """`value` as text with exactly `decimals` decimals, from integers only (same on every engine)."""
    scaled = (value * 10**decimals).round().cast("int64")
    if decimals == 0:
        return scaled.cast("string")
    size = scaled.abs()
    sign = ibis.ifelse(scaled < 0, "-", "")
    whole = (size // 10**decimals).cast("string")
    return sign + whole + "." + (size % 10**decimals).cast("string").lpad(decimals, "0")  # type: ignore[no-any-return]


def reasons_text(model: Weights, table: ir.Table, top: int = TOP) -> ir.StringValue:
    """'signal=value;...': the signals that raise this customer's risk and that the customer
    shows (module docstring), largest contribution first, at most `top` (in the engine)."""
    known = catalogue()
    parts = []
    for name, mean, scale, coef in zip(model.names, model.mean, model.scale, model.coef, strict=True):
        signal = known[name]
        value = table[name].cast("float64")
        contribution = float(coef) * (value.fill_null(float(mean)) - float(mean)) / float(scale)
        side = value > float(mean) if signal.leaving == "up" else value < float(mean)
        shown = (contribution > 0) & side.fill_null(False)
        text = ibis.literal(f"{name}=") + encoded(value, signal.decimals)
        # ranked by the negated contribution (arrays sort ascending); 1.0 marks "not a reason"
        parts.append(ibis.struct({"neg": ibis.ifelse(shown, -contribution, 1.0), "reason": text}))
    if not parts:
        return ibis.literal("")
    ranked = ibis.array(parts).filter(lambda p: p["neg"] < 0).sort()
    # no reason: '' on every engine (Spark's slice of an empty array gives NULL)
    return ranked.map(lambda p: p["reason"])[:top].join(SEPARATOR).fill_null("")  # type: ignore[no-any-return]
