"""The `profit:` section of a policy: the profit pyramid and small customers (客户利润金字塔, 小客户).

The seeds rank customers twice: by number (客户数量金字塔) and by the profit they bring
(客户利润金字塔), where the top 20% may earn 150% of the profit and the last 30% consume half of
it. The profit of a customer is the gross margin of what they bought (毛利) less what serving
them cost (服务成本): `margin` and `cost_to_serve` name the policy's metrics for the two, as
`value:` names the measure of the value pyramid.

`small:` says how `tierkit small` reads the bottom of the pyramid (小客户管理法): who could grow
(upgrade candidates) and who costs more than they bring (weed-out candidates, 劣质客户). Every
key is optional; what is not written takes the default documented in docs/policy.md (resolved
here, so that a default changed later changes no written policy's version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from pydantic import Field, field_validator, model_validator

from tierkit.policy.base import Label, Strict

WITHIN = r"^\d+[DMY]$"


def _signal(data: object, number_key: str) -> object:
    """`false` switches a test off; a plain number is its threshold, with the default metric."""
    if data is False:
        return {"off": True}
    if isinstance(data, int | float | Decimal) and not isinstance(data, bool):
        return {number_key: data}
    return data


class Signal(Strict):
    """One test of a list: a metric of the run at least a threshold (`{metric: NAME, at_least: N}`)."""

    metric: str | None = None
    at_least: Decimal | None = None
    off: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _given(cls, data: object) -> object:
        return _signal(data, "at_least")


class ClvSignal(Strict):
    """CLV well above today's value: `clv >= times_value * value`."""

    metric: str | None = None
    times_value: Decimal | None = Field(default=None, gt=0)
    off: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _given(cls, data: object) -> object:
        return _signal(data, "times_value")


class Upgrade(Strict):
    needs: int | None = Field(default=None, ge=1)  # how many signals make a candidate (1)
    growth: Signal | None = None
    clv: ClvSignal | None = None
    breadth: Signal | None = None
    target: str | None = None  # the plan's tier (default: the tier above the customer's)
    within: str | None = None  # the plan's date: as-of + within (12M)
    action: Label | None = None

    @field_validator("within")
    @classmethod
    def _within(cls, value: str | None) -> str | None:
        if value is not None and (not re.match(WITHIN, str(value)) or int(str(value)[:-1]) == 0):
            raise ValueError(f"within '{value}' is not like 6M, 12M, 2Y or 90D")
        return value


class WeedOut(Strict):
    needs: int | None = Field(default=None, ge=1)  # how many signals make a candidate (1)
    late: Signal | None = None
    unpaid: Signal | None = None
    complaints: Signal | None = None
    loss: bool | None = None  # margin - cost to serve < 0 (true when the policy has a margin)
    end_at: int | None = Field(default=None, ge=1)  # this many signals: end the relationship (2)


class SmallCustomers(Strict):
    bottom: Decimal | None = Field(default=None, gt=0, le=1)  # the share of customers by value, from the bottom (0.5)
    protect: list[str] | None = None  # tags that keep a customer off both lists ([key_person])
    upgrade: Upgrade | None = None
    weed_out: WeedOut | None = None


class Profit(Strict):
    margin: str | None = None  # gross margin (毛利), e.g. {sum: profit, window: 12M}
    cost_to_serve: str | None = None  # cost to serve (服务成本), e.g. {sum: cost, from: interactions, window: 12M}
    small: SmallCustomers | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: object) -> object:
        """`profit: margin_12m` names the margin alone, as `value:` names its measure."""
        return {"margin": data} if isinstance(data, str) else data

    @field_validator("margin", "cost_to_serve")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        if value is not None and not value.isidentifier():
            raise ValueError(f"'{value}' is not a metric name")
        return value


# The defaults, as docs/policy.md gives them: (metric, threshold) of each signal.
UPGRADE_SIGNALS = {"growth": ("order_trend_6m", Decimal("1.2")), "breadth": ("categories_12m", Decimal(3))}
CLV_TIMES = Decimal(2)
WEED_OUT_SIGNALS = {
    "late": ("late_payments_12m", Decimal(2)),
    "unpaid": ("unpaid_orders_12m", Decimal(1)),
    "complaints": ("complaints_90d", Decimal(3)),
}
BOTTOM = Decimal("0.5")
PROTECT = ("key_person",)
WITHIN_DEFAULT = "12M"
END_AT = 2


@dataclass(frozen=True)
class Test:
    """A signal as it applies: its key, the metric, the threshold, and whether it was written."""

    key: str
    metric: str
    threshold: Decimal
    written: bool  # the policy named the metric: a run without it is an error, not a skipped test


@dataclass(frozen=True)
class SmallRules:
    """`profit.small` with every default filled in."""

    bottom: Decimal
    protect: tuple[str, ...]
    upgrade: tuple[Test, ...]
    upgrade_needs: int
    clv: Test | None  # threshold: times today's value
    clv_off: bool
    target: str | None
    within: str
    upgrade_action: Label | None
    weed_out: tuple[Test, ...]
    weed_out_needs: int
    loss: bool
    end_at: int


def _tests(given: object, defaults: dict[str, tuple[str, Decimal]]) -> tuple[Test, ...]:
    found = []
    for key, (metric, threshold) in defaults.items():
        signal = getattr(given, key, None) if given is not None else None
        if signal is not None and signal.off:
            continue
        named = signal.metric if signal is not None else None
        at_least = signal.at_least if signal is not None else None
        found.append(Test(key, named or metric, at_least if at_least is not None else threshold, named is not None))
    return tuple(found)


def small_rules(profit: Profit | None, clv_metric: str | None) -> SmallRules:
    """The rules of `tierkit small`; `clv_metric` is the policy's CLV metric (its first
    `clv: value`), the default of `upgrade.clv`."""
    small = profit.small if profit is not None else None
    small = small or SmallCustomers()
    up, out = small.upgrade or Upgrade(), small.weed_out or WeedOut()
    clv: Test | None = None
    clv_off = up.clv is not None and bool(up.clv.off)
    if not clv_off:
        written = up.clv.metric if up.clv is not None else None
        times = up.clv.times_value if up.clv is not None else None
        metric = written or clv_metric
        if metric is not None:
            clv = Test("clv", metric, times if times is not None else CLV_TIMES, written is not None)
    margin = profit.margin if profit is not None else None
    return SmallRules(
        bottom=small.bottom if small.bottom is not None else BOTTOM,
        protect=tuple(small.protect) if small.protect is not None else PROTECT,
        upgrade=_tests(up, UPGRADE_SIGNALS),
        upgrade_needs=up.needs or 1,
        clv=clv,
        clv_off=clv_off,
        target=up.target,
        within=up.within or WITHIN_DEFAULT,
        upgrade_action=up.action,
        weed_out=_tests(out, WEED_OUT_SIGNALS),
        weed_out_needs=out.needs or 1,
        loss=margin is not None and out.loss is not False,
        end_at=out.end_at or END_AT,
    )


def written_metrics(profit: Profit) -> list[tuple[tuple[str, ...], str]]:
    """(key path, metric) of every metric the section names, to check against the policy's."""
    found: list[tuple[tuple[str, ...], str]] = []
    for key in ("margin", "cost_to_serve"):
        name = getattr(profit, key)
        if name is not None:
            found.append(((key,), name))
    small = profit.small
    for part in ("upgrade", "weed_out"):
        section = getattr(small, part, None) if small is not None else None
        for key in ("growth", "clv", "breadth", "late", "unpaid", "complaints"):
            signal = getattr(section, key, None) if section is not None else None
            metric = getattr(signal, "metric", None)
            if metric is not None:
                found.append(((part, key, "metric"), metric))
    return found


def model_at(path: tuple[object, ...]) -> type[Strict]:
    """The model owning the last key of `path` under `profit:`, for "did you mean" on a typo."""
    inner = path[1:]
    if not inner or len(inner) == 1:
        return Profit
    if inner[0] != "small" or len(inner) == 2:
        return SmallCustomers
    parts: dict[str, type[Strict]] = {"upgrade": Upgrade, "weed_out": WeedOut}
    part = parts.get(str(inner[1]))
    if part is None:
        return SmallCustomers
    if len(inner) == 3:
        return part
    return ClvSignal if inner[2] == "clv" else Signal
