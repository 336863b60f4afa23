"""Churn early warning: a model trained on the customers' own history, scored in the engine.

Time split: features as of a cut-off, label = no order in the `horizon` after it. The model is a
standardized logistic regression (scikit-learn) on the signals of churn_features.yaml, so that
(1) scoring is a dot product and a sigmoid, an Ibis expression that runs in the engine over any
number of customers, and (2) each customer's risk splits into per-signal contributions, which
the card lists, most important first. The backtest trains on one cut-off and tests on the next,
against two baselines measured in the same run: recency alone and P(alive) alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import yaml

from tierkit.engine.inputs import Inputs
from tierkit.engine.metrics import build_metrics
from tierkit.engine.windows import Window
from tierkit.errors import InputError, PolicyError
from tierkit.models.kinds import ChurnParameters
from tierkit.policy.loader import LoadedPolicy
from tierkit.policy.model import MetricSpec, Policy, check_window


@lru_cache(maxsize=1)
def signals() -> dict[str, dict[str, Any]]:
    text = resources.files("tierkit.models").joinpath("churn_features.yaml").read_text("utf-8")
    return yaml.safe_load(text)["signals"]  # type: ignore[no-any-return]


def usable_signals(inputs: Inputs) -> dict[str, MetricSpec]:
    """The signals the inputs can feed (interactions-based ones need an interactions file)."""
    found = {}
    for name, spec in signals().items():
        metric = MetricSpec.model_validate(spec["metric"])
        if metric.count == "interactions" and inputs.interactions is None:
            continue
        if metric.where and "paid_at" in metric.where and "paid_at" not in inputs.orders.present:
            continue
        found[name] = metric
    return found


def features(inputs: Inputs, as_of: dt.date) -> ir.Table:
    """customer_id and one column per usable signal, as of `as_of` (customers with an order by then)."""
    metrics = usable_signals(inputs)
    policy = Policy.model_validate(
        {
            "name": "churn-signals",
            "metrics": {k: v.model_dump(by_alias=True, exclude_none=True) for k, v in metrics.items()},
            "tiers": [{"name": "all", "else": True}],
        }
    )
    table, _ = build_metrics(inputs, LoadedPolicy(policy, "churn_features.yaml", ""), as_of)
    table = table.select("customer_id", *metrics)
    if "category" in inputs.orders.present:  # S4's sign: buying less often *in a category*
        declining = category_decline(inputs.orders.table, as_of)
        table = table.left_join(declining, "customer_id").drop("customer_id_right")
        table = table.mutate(categories_declining=table.categories_declining.fill_null(0))
    return table


def category_decline(orders: ir.Table, as_of: dt.date, days: int = 90) -> ir.Table:
    """customer_id, categories_declining: categories bought at least twice in the 90 days before
    the last 90, in which the last 90 days saw under half as many orders."""
    now_start, before_start = as_of - dt.timedelta(days=days), as_of - dt.timedelta(days=2 * days)
    recent = orders.filter((orders.ordered_at > ibis.date(before_start)) & (orders.ordered_at <= ibis.date(as_of)))
    is_now = recent.ordered_at > ibis.date(now_start)
    per = recent.group_by(["customer_id", "category"]).aggregate(now=is_now.sum(), before=(~is_now).sum())
    falling = (per.before >= 2) & (per.now * 2 < per.before)
    return per.group_by("customer_id").aggregate(categories_declining=falling.sum().cast("int64"))


def churned(orders: ir.Table, cutoff: dt.date, horizon: str, until: dt.date | None = None) -> ir.Table:
    """customer_id, __bought: the customers with an order in (cutoff, until] (until: the day the
    horizon reaches from the cut-off); the others churned."""
    end = until or _after(cutoff, horizon)
    later = orders.filter((orders.ordered_at > ibis.date(cutoff)) & (orders.ordered_at <= ibis.date(end)))
    bought = later.select("customer_id").distinct().mutate(__bought=ibis.literal(1))
    return bought


def _window(horizon: str) -> Window:
    try:
        checked = check_window(horizon)
    except ValueError as err:
        raise InputError(f"--horizon: {err}") from err
    window = Window.parse(checked)
    if window.is_all:
        raise InputError(f"--horizon: '{horizon}' must be a window such as 90D or 3M")
    return window


def _after(day: dt.date, horizon: str) -> dt.date:
    """The first day whose horizon reaches back to `day`: 90D after, or the same day three
    months on for 3M (calendar months, as windows count them; `_before` undoes it)."""
    window = _window(horizon)
    end = day + dt.timedelta(days=1)
    while (window.start(end) or end) < day:
        end += dt.timedelta(days=1)
    return end


@dataclass
class ChurnModel:
    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logit(self, table: ir.Table) -> ir.NumericValue:
        """The model's log-odds as an Ibis expression: it scores in the engine."""
        total: ir.NumericValue = ibis.literal(self.intercept)
        for name, mean, scale, coef in zip(self.names, self.mean, self.scale, self.coef, strict=True):
            z = (table[name].cast("float64").fill_null(float(mean)) - float(mean)) / float(scale)
            total = total + float(coef) * z
        return total

    def risk(self, table: ir.Table) -> ir.NumericValue:
        return 1 / (1 + (-self.logit(table)).exp())

    def contributions(self, row: dict[str, Any]) -> list[tuple[str, float]]:
        """(signal, contribution to the log-odds), largest first, for one customer's values."""
        parts = []
        for name, mean, scale, coef in zip(self.names, self.mean, self.scale, self.coef, strict=True):
            value = row.get(name)
            z = ((float(value) if value is not None else mean) - mean) / scale
            parts.append((name, float(coef * z)))
        return sorted((p for p in parts if p[1] > 0), key=lambda p: -p[1])


def _matrix(table: Any, names: list[str]) -> np.ndarray:
    columns = []
    for name in names:
        values = np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=float)
        columns.append(values)
    return np.column_stack(columns)


def train(
    inputs: Inputs, cutoff: dt.date, horizon: str, engine: Any, until: dt.date | None = None
) -> tuple[ChurnModel, dict[str, Any]]:
    """Fit on features as of `cutoff` and who bought nothing after it, up to `until` (by default
    the day the horizon reaches; never later than the grading's as-of date)."""
    from sklearn.linear_model import LogisticRegression

    table = labelled(inputs, cutoff, horizon, engine, until)
    names = [c for c in table.column_names if c not in ("customer_id", "churned")]
    X = _matrix(table, names)
    y = np.asarray(table["churned"].to_numpy(zero_copy_only=False), dtype=int)
    if len(set(y)) < 2:
        raise InputError(f"as of {cutoff}, every customer {'churned' if y.all() else 'stayed'}: nothing to learn")
    with np.errstate(all="ignore"):
        mean = np.nan_to_num(np.nanmean(X, axis=0))  # a signal with no value at all counts as 0
    X = np.where(np.isnan(X), mean, X)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(max_iter=2000, C=1.0).fit((X - mean) / scale, y)
    fitted = ChurnModel(names, mean, scale, model.coef_[0], float(model.intercept_[0]))
    return fitted, {"customers": len(y), "churn_rate": round(float(y.mean()), 4)}


def labelled(inputs: Inputs, cutoff: dt.date, horizon: str, engine: Any, until: dt.date | None = None) -> Any:
    table = features(inputs, cutoff)
    bought = churned(inputs.orders.table, cutoff, horizon, until)
    joined = table.left_join(bought, "customer_id")
    joined = joined.mutate(churned=joined.__bought.isnull().cast("int64")).drop("__bought", "customer_id_right")
    return engine.to_pyarrow(joined.order_by("customer_id"))


def _precision_at_top(score: np.ndarray, y: np.ndarray, share: float = 0.1) -> float:
    top = max(1, round(share * len(score)))
    order = np.argsort(-score, kind="stable")[:top]
    return float(y[order].mean())


def backtest(inputs: Inputs, as_of: dt.date, horizon: str, engine: Any) -> dict[str, Any]:
    """Train as of (as_of − 2·horizon), test as of (as_of − horizon) against what happened by as_of."""
    from sklearn.metrics import roc_auc_score

    test_cut = _before(as_of, horizon)
    train_cut = _before(test_cut, horizon)
    first = inputs.orders.first
    if first is not None and train_cut <= first:
        raise InputError(
            f"--horizon {horizon} is too long for this history: training needs orders before {train_cut} "
            f"(as-of minus twice the horizon), and the first order is on {first}"
        )
    model, trained = train(inputs, train_cut, horizon, engine, until=test_cut)
    test = labelled(inputs, test_cut, horizon, engine, until=as_of)
    X = _matrix(test, model.names)
    y = np.asarray(test["churned"].to_numpy(zero_copy_only=False), dtype=int)
    X = np.where(np.isnan(X), model.mean, X)
    scores = {
        "model": 1 / (1 + np.exp(-(((X - model.mean) / model.scale) @ model.coef + model.intercept))),
        "recency": X[:, model.names.index("recency_days")],
        "p_alive": 1 - X[:, model.names.index("p_alive")],
    }
    if len(set(y)) < 2:
        raise InputError(f"as of {test_cut}, every customer {'churned' if y.all() else 'stayed'}: cannot test")
    report: dict[str, Any] = {
        name: {"auc": round(float(roc_auc_score(y, s)), 4), "precision_top_decile": round(_precision_at_top(s, y), 4)}
        for name, s in scores.items()
    }
    report.update(
        as_of=as_of.isoformat(),
        horizon=horizon,
        train_cutoff=train_cut.isoformat(),
        test_cutoff=test_cut.isoformat(),
        train=trained,
        test={"customers": len(y), "churn_rate": round(float(y.mean()), 4)},
        weights={n: round(float(c), 4) for n, c in zip(model.names, model.coef, strict=True)},
    )
    return report


def _before(day: dt.date, horizon: str) -> dt.date:
    return _window(horizon).start(day) or day


def signals_text(model: ChurnModel, table: ir.Table, top: int = 3) -> ir.StringValue:
    """The signals that raise a customer's risk most, largest first, as 'a,b,c' (in the engine)."""
    parts = []
    for name, mean, scale, coef in zip(model.names, model.mean, model.scale, model.coef, strict=True):
        z = (table[name].cast("float64").fill_null(float(mean)) - float(mean)) / float(scale)
        parts.append(ibis.struct({"neg": -(float(coef) * z), "signal": ibis.literal(name)}))
    ranked = ibis.array(parts).filter(lambda p: p["neg"] < 0).sort()
    return ranked.map(lambda p: p["signal"])[:top].join(",")  # type: ignore[no-any-return]


class ChurnMetrics:
    """The `churn:` metric kind's builder (see tierkit.engine.kinds.TableKind)."""

    def columns(self, inputs: Inputs, as_of: dt.date, specs: dict[str, MetricSpec], where: str) -> ir.Table:
        return churn_metrics(inputs, as_of, specs, where)


CHURN_METRICS = ChurnMetrics()


def churn_metrics(inputs: Inputs, as_of: dt.date, specs: dict[str, MetricSpec], where: str) -> ir.Table:
    """customer_id and one column per churn metric (named as the metric): the risk (0..1) or its
    top signals."""
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
        return table.select("customer_id", **blank)
    try:
        model, _ = train(inputs, _before(as_of, horizon), horizon, inputs.backend, until=as_of)
    except InputError as err:
        raise PolicyError(f"{where}: the churn model cannot be trained: {err}") from err
    columns = {
        name: model.risk(table).round(6) if spec.churn == "risk" else signals_text(model, table)
        for name, spec in chosen.items()
    }
    return table.select("customer_id", **columns)


EXTRA_SIGNALS = {"categories_declining": {"zh": "某品类购买频率下降", "en": "Buying less in a category"}}


def signal_labels(text: object, lang: str) -> list[str]:
    """'recency_days,orders_180d' -> what the card shows in `lang`."""
    known = {**signals(), **EXTRA_SIGNALS}
    return [str(known.get(name, {}).get(lang, name)) for name in str(text or "").split(",") if name]


def display(value: object, parameters: object, lang: str) -> list[str] | None:
    """The card's words for a churn metric: a `signals` metric's signals by name; None for the
    risk (shown as the number it is)."""
    if getattr(parameters, "churn", None) != "signals":
        return None
    return signal_labels(value, lang)
