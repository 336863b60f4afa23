"""The policy as typed data: what a YAML policy file may say, checked by pydantic.

Field names follow the users' vocabulary (metrics, scores, tiers, tags, service). Cross
references (a score naming a metric, a rule naming a score) are checked when the policy is
compiled against real tables, where the set of visible names is known.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tierkit.errors import did_you_mean
from tierkit.policy.base import Label, Strict
from tierkit.policy.inputs import InputRules
from tierkit.policy.score_specs import (
    SCORE_TYPES,
    AbcScore,
    BandsScore,
    GridAxis,
    GridScore,
    PyramidScore,
    RfmScore,
    RfmSegment,
    Score,
    StarLevel,
    StarsScore,
)

__all__ = [
    "SCORE_TYPES",
    "AbcScore",
    "BandsScore",
    "GridAxis",
    "GridScore",
    "Label",
    "MetricSpec",
    "Policy",
    "PyramidScore",
    "RfmScore",
    "RfmSegment",
    "Score",
    "Service",
    "StarLevel",
    "StarsScore",
    "Strict",
    "TagRule",
    "TierRule",
]

TABLES = ("orders", "interactions", "contacts")
AGGREGATES = (
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "distinct",
    "recency",
    "tenure",
    "consecutive_years",
    "trend",
    "expr",
    "clv",
    "churn",
)
CLV_KINDS = ("p_alive", "purchases", "order_value", "value")
WINDOW = re.compile(r"^(?P<n>\d+)(?P<unit>[DMY])$")


def check_window(value: str | None) -> str | None:
    if value is None or value == "all":
        return value
    match = WINDOW.match(str(value))
    if not match:
        raise ValueError(f"window '{value}' is not like 90D, 6M, 12M, 3Y or all")
    if int(match["n"]) == 0:
        raise ValueError(f"window '{value}' is empty: use at least 1")
    return str(value)


class MetricSpec(Strict):
    """One per-customer number. Exactly one aggregate key says what it is."""

    sum: str | None = None
    avg: str | None = None
    min: str | None = None
    max: str | None = None
    count: str | None = None
    distinct: str | None = None
    recency: str | None = None
    tenure: str | None = None
    consecutive_years: str | None = None
    trend: MetricSpec | None = None
    expr: str | None = None
    clv: Literal["p_alive", "purchases", "order_value", "value"] | None = None  # BG/NBD + Gamma-Gamma
    churn: Literal["risk", "signals"] | None = None  # the churn-risk model (models/churn.py)
    horizon: str | None = None  # clv purchases and value: how far ahead, e.g. 12M or 90D
    discount: Decimal | None = Field(None, ge=0, le=1)  # clv value: yearly discount rate (default 0.1)
    time_unit: Literal["day", "week", "month"] | None = None  # clv: the models' unit (default week)
    from_: Literal["orders", "interactions", "contacts"] | None = Field(None, alias="from")
    where: str | None = None
    window: str | None = None
    per: Literal["day", "month", "year"] | None = None
    threshold: Decimal | None = None
    max_years: int | None = Field(None, ge=1, le=50)  # consecutive_years only; 10 when not given
    description: str | None = None

    _check_window = field_validator("window", "horizon")(classmethod(lambda cls, v: check_window(v)))

    @model_validator(mode="after")
    def _one_aggregate(self) -> MetricSpec:
        given = [name for name in AGGREGATES if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a metric needs exactly one of {', '.join(AGGREGATES)}; got {', '.join(given) or 'none'}")
        if self.count is not None and self.count not in TABLES:
            raise ValueError(f"count: '{self.count}' is not one of {', '.join(TABLES)}")
        for key in ("recency", "tenure"):
            if getattr(self, key) not in (None, *TABLES):
                raise ValueError(f"{key}: '{getattr(self, key)}' is not one of {', '.join(TABLES)}")
        if self.consecutive_years is not None and self.threshold is None:
            raise ValueError("consecutive_years needs a threshold (e.g. threshold: 10000)")
        if self.trend is not None and self.window in (None, "all"):
            raise ValueError("trend needs a window such as 6M: it compares it with the one before")
        if self.clv in ("purchases", "value") and self.horizon is None:
            raise ValueError(f"clv: {self.clv} needs a horizon, e.g. horizon: 12M")
        if self.horizon == "all":
            raise ValueError("horizon 'all' has no end: give a window such as 90D or 12M")
        if self.churn is not None and self.horizon is None:
            raise ValueError("churn needs a horizon: no order within it counts as churned, e.g. horizon: 90D")
        if self.clv is None and self.churn is None and (self.horizon or self.discount is not None or self.time_unit):
            raise ValueError("horizon, discount and time_unit belong to clv and churn metrics")
        if self.churn is not None and (self.discount is not None or self.time_unit):
            raise ValueError("discount and time_unit belong to clv metrics")
        if self.per is not None and self.window in (None, "all"):
            raise ValueError("per needs a window to divide by")
        ignored = {
            "expr": ("window", "per", "where", "from_", "threshold", "max_years"),
            "trend": ("per", "threshold", "max_years"),
            "consecutive_years": ("window", "per"),
            "count": ("from_", "threshold", "max_years"),  # count: TABLE already names the table
            "recency": ("from_", "threshold", "max_years"),
            "tenure": ("from_", "threshold", "max_years"),
            "clv": ("window", "per", "where", "from_", "threshold", "max_years"),
            "churn": ("window", "per", "where", "from_", "threshold", "max_years"),
        }.get(self.kind, ("threshold", "max_years"))
        for key in ignored:
            if getattr(self, key) is not None:
                raise ValueError(f"{key.rstrip('_')} has no meaning for a {self.kind} metric")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in AGGREGATES if getattr(self, name) is not None)


class TierRule(Strict):
    name: str
    label: Label | None = None
    when: str | None = None
    else_: bool = Field(False, alias="else")

    @model_validator(mode="after")
    def _when_or_else(self) -> TierRule:
        if (self.when is None) == (not self.else_):
            raise ValueError("a tier needs either when: RULE or else: true")
        return self


class TagRule(Strict):
    name: str
    label: Label | None = None
    when: str
    action: str | None = None


class Service(Strict):
    entitlements: list[str] = []
    contacts_per_month: tuple[int, int] | None = None
    response_time: str | None = None
    actions: list[str] = []


class Policy(Strict):
    name: str
    description: str | None = None
    metrics: dict[str, MetricSpec] = {}
    scores: dict[str, Score] = {}
    tiers: list[TierRule] = []
    primary: str | None = None  # a score whose class is the tier, when there are no rule tiers
    value: str | None = None  # the measure for revenue shares and the value pyramid
    tags: list[TagRule] = []
    service: dict[str, Service] = {}
    inputs: InputRules = InputRules()

    @model_validator(mode="before")
    @classmethod
    def _score_types(cls, data: object) -> object:
        """`abc: {by: x}` means a score of type abc: the key names the type when it is one."""
        if isinstance(data, dict) and isinstance(data.get("scores"), dict):
            scores = {}
            for key, spec in data["scores"].items():
                if isinstance(spec, dict) and "type" not in spec and key in SCORE_TYPES:
                    spec = {"type": key, **spec}
                scores[key] = spec
            data = {**data, "scores": scores}
        return data

    @model_validator(mode="after")
    def _primary(self) -> Policy:
        if bool(self.tiers) == (self.primary is not None):
            raise ValueError("a policy needs either tiers (rules) or primary: SCORE, and not both")
        if self.tiers:
            names = [t.name for t in self.tiers]
            if len(set(names)) != len(names):
                raise ValueError("tier names must be unique")
            if not self.tiers[-1].else_ or any(t.else_ for t in self.tiers[:-1]):
                raise ValueError("the last tier, and only the last, must be else: true")
            for key in self.service:
                if key not in names:
                    raise ValueError(f"service: '{key}' is not a tier{did_you_mean(key, names)}")
        tags = [t.name for t in self.tags]
        if len(set(tags)) != len(tags):
            raise ValueError("tag names must be unique")
        if self.primary is not None and self.primary not in self.scores:
            raise ValueError(f"primary: '{self.primary}' is not one of the scores")
        for name in self.metrics:
            if not name.isidentifier():
                raise ValueError(f"metric name '{name}' must be a plain identifier")
        return self
