"""The churn signals: what each one measures, which way it points toward leaving, and the card's words.

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

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, Protocol

import ibis
import ibis.expr.types as ir
import numpy as np
import yaml

from tierkit.engine.inputs import Inputs
from tierkit.policy.model import MetricSpec

SEPARATOR = ";"  # between reasons; '=' between a signal and its value
TOP = 3  # reasons a card lists


@dataclass(frozen=True)
class Signal:
    """One early-warning signal of churn_features.yaml."""

    name: str
    metric: dict[str, Any] | None  # None: computed beside the metrics (categories_declining)
    leaving: Literal["up", "down"]
    decimals: int  # the precision its value is carried with
    label: dict[str, str]  # lang -> a few words
    words: dict[str, str]  # lang -> the card's sentence, with {value}

    def say(self, value: float | int | None, lang: str) -> str:
        """The card's sentence for one customer's value (the label alone when there is none)."""
        template = self.words.get(lang) or self.words.get("en")
        if value is None or template is None:
            return self.label.get(lang) or self.label.get("en") or self.name
        return template.format(value=value)

    def parse(self, text: str) -> float | int:
        return int(text) if self.decimals == 0 else float(text)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Signal]:
    """Every signal churn_features.yaml declares, in its order."""
    text = resources.files("tierkit.models").joinpath("churn_features.yaml").read_text("utf-8")
    found = {}
    for name, entry in yaml.safe_load(text)["signals"].items():
        if entry.get("leaving") not in ("up", "down"):
            raise ValueError(f"churn_features.yaml: {name}: leaving must be up or down")
        found[name] = Signal(
            name, entry.get("metric"), entry["leaving"], int(entry.get("decimals", 0)), entry["name"], entry["words"]
        )
    return found


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


def parse_reasons(text: object) -> list[tuple[str, str | None]]:
    """'a=1;b=2' -> [(a, '1'), (b, '2')]; a run written before values were carried
    ('a,b') -> [(a, None), (b, None)]."""
    raw = str(text or "")
    items = raw.split(SEPARATOR) if "=" in raw else raw.split(",")
    found: list[tuple[str, str | None]] = []
    for item in filter(None, (i.strip() for i in items)):
        name, has_value, value = item.partition("=")
        found.append((name, value if has_value else None))
    return found


def reason_words(text: object, lang: str) -> list[str]:
    """What the card says for a `churn: signals` value: one sentence per reason, in `lang`."""
    known = catalogue()
    said = []
    for name, value in parse_reasons(text):
        signal = known.get(name)
        if signal is None:  # a signal this version does not know (a newer catalogue): its name
            said.append(name if value is None else f"{name} = {value}")
        else:
            said.append(signal.say(None if value is None else signal.parse(value), lang))
    return said
