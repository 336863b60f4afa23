"""The policy as typed data: what a YAML policy file may say, checked by pydantic.

Field names follow the users' vocabulary (metrics, scores, tiers, tags, service). Cross
references (a score naming a metric, a rule naming a score) are checked when the policy is
compiled against real tables, where the set of visible names is known.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import Field, SerializeAsAny, field_serializer, field_validator, model_serializer, model_validator
from pydantic_core.core_schema import SerializationInfo, SerializerFunctionWrapHandler

from tierkit.errors import did_you_mean
from tierkit.policy.alerts import AlertRules, check_alerts
from tierkit.policy.base import Label, Strict
from tierkit.policy.entitlements import Grant, Limited, TagGrant, check_entitlements
from tierkit.policy.inputs import InputRules
from tierkit.policy.kinds import metric_kinds
from tierkit.policy.profit import Profit
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
from tierkit.policy.stability import Stability

__all__ = [
    "SCORE_TYPES",
    "AbcScore",
    "BandsScore",
    "Entitlement",
    "GridAxis",
    "GridScore",
    "Label",
    "MetricSpec",
    "PluginMetric",
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
)
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


class PluginMetric(Strict):
    """A metric of a kind a plug-in adds (policy.kinds): its kind and its checked parameters."""

    kind: str
    parameters: SerializeAsAny[Strict]


class MetricSpec(Strict):
    """One per-customer number. Exactly one aggregate key says what it is: a built-in one below,
    or a plug-in kind's (`clv: value`, `churn: risk`), whose parameters its kind checks."""

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
    plugin: PluginMetric | None = None  # a plug-in kind's metric (given as `KIND: ...`, never as plugin:)
    from_: Literal["orders", "interactions", "contacts"] | None = Field(None, alias="from")
    where: str | None = None
    window: str | None = None
    per: Literal["day", "month", "year"] | None = None
    threshold: Decimal | None = None
    max_years: int | None = Field(None, ge=1, le=50)  # consecutive_years only; 10 when not given
    description: str | None = None

    _check_window = field_validator("window")(classmethod(lambda cls, v: check_window(v)))

    @model_validator(mode="before")
    @classmethod
    def _plugin_kind(cls, data: object) -> object:
        """`{churn: risk, horizon: 90D}` is a metric of the plug-in kind churn: its mapping is
        checked by the kind's own parameter model (errors keep their keys and lines)."""
        if not isinstance(data, dict) or "plugin" in data:
            return data
        kinds = metric_kinds()
        named = [key for key in data if key in kinds]
        if not named or any(key in data for key in AGGREGATES):
            return data
        if len(named) > 1:
            raise ValueError(f"a metric needs exactly one kind; got {', '.join(named)}")
        kind = kinds[named[0]]
        return {"plugin": {"kind": kind.name, "parameters": kind.parameters.model_validate(data)}}

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, object]:
        """A plug-in metric is written as it is given (`churn: risk, horizon: 90D`), so a run's
        policy.json reads back, and the policy hash names what the user wrote."""
        if self.plugin is not None:
            return self.plugin.parameters.model_dump(
                mode=info.mode, by_alias=info.by_alias, exclude_none=info.exclude_none
            )
        dumped: dict[str, object] = handler(self)
        dumped.pop("plugin", None)
        return dumped

    @model_validator(mode="after")
    def _one_aggregate(self) -> MetricSpec:
        given = [name for name in AGGREGATES if getattr(self, name) is not None]
        if self.plugin is not None:
            return self
        if len(given) != 1:
            every = [*AGGREGATES, *metric_kinds()]
            raise ValueError(f"a metric needs exactly one of {', '.join(every)}; got {', '.join(given) or 'none'}")
        if self.count is not None and self.count not in TABLES:
            raise ValueError(f"count: '{self.count}' is not one of {', '.join(TABLES)}")
        for key in ("recency", "tenure"):
            if getattr(self, key) not in (None, *TABLES):
                raise ValueError(f"{key}: '{getattr(self, key)}' is not one of {', '.join(TABLES)}")
        if self.consecutive_years is not None and self.threshold is None:
            raise ValueError("consecutive_years needs a threshold (e.g. threshold: 10000)")
        if self.trend is not None and self.window in (None, "all"):
            raise ValueError("trend needs a window such as 6M: it compares it with the one before")
        if self.per is not None and self.window in (None, "all"):
            raise ValueError("per needs a window to divide by")
        ignored = {
            "expr": ("window", "per", "where", "from_", "threshold", "max_years"),
            "trend": ("per", "threshold", "max_years"),
            "consecutive_years": ("window", "per"),
            "count": ("from_", "threshold", "max_years"),  # count: TABLE already names the table
            "recency": ("from_", "threshold", "max_years"),
            "tenure": ("from_", "threshold", "max_years"),
        }.get(self.kind, ("threshold", "max_years"))
        for key in ignored:
            if getattr(self, key) is not None:
                raise ValueError(f"{key.rstrip('_')} has no meaning for a {self.kind} metric")
        return self

    @property
    def kind(self) -> str:
        if self.plugin is not None:
            return self.plugin.kind
        return next(name for name in AGGREGATES if getattr(self, name) is not None)

    @property
    def parameters(self) -> Strict:
        """A plug-in metric's parameters (its kind's model); an error for a built-in kind."""
        if self.plugin is None:
            raise TypeError(f"a {self.kind} metric has no plug-in parameters")
        return self.plugin.parameters


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
    action: Label | None = None  # what the person at the counter does; `{zh:, en:}` or one text for both
    group: str | None = None  # its identification class (客户身份, 渠道偏好 ...), a key of tag_groups

    @field_serializer("action")
    def _action(self, action: Label | None) -> object:
        return one_text(action)


class Entitlement(Limited):
    """One service a tier is entitled to, named once in the policy's catalogue so that the card
    says it in the reader's language (and a typo in a tier's list is caught); an optional limit
    (`limit: 2, per: year`) holds for every tier that grants it (policy/entitlements.py)."""

    label: Label | None = None


class Service(Strict):
    entitlements: list[Grant] = []  # codes, or {code, limit, per} (policy/entitlements.py)
    contacts_per_month: tuple[int, int] | None = None
    response_time: str | None = None
    actions: list[Label] = []

    @field_validator("contacts_per_month")
    @classmethod
    def _cadence(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        """[min, max] contacts a month: a plan cannot be made from a minimum above its maximum."""
        if value is not None and not 0 <= value[0] <= value[1] <= 100:
            raise ValueError(f"contacts_per_month {list(value)}: give [min, max] with 0 <= min <= max <= 100")
        return value

    @field_serializer("actions")
    def _actions(self, actions: list[Label]) -> list[object]:
        return [one_text(action) for action in actions]


def one_text(label: Label | None) -> object:
    """An action given as one text for both languages is written back as that text, so that a
    policy written before actions had languages keeps its version (hash)."""
    if label is not None and label.zh == label.en:
        return label.zh
    return label.model_dump() if label is not None else None


class Policy(Strict):
    name: str
    description: str | None = None
    metrics: dict[str, MetricSpec] = {}
    scores: dict[str, Score] = {}
    tiers: list[TierRule] = []
    primary: str | None = None  # a score whose class is the tier, when there are no rule tiers
    value: str | None = None  # the measure for revenue shares and the value pyramid
    stability: Stability | None = None  # stable tiers: when a downgrade goes through (policy/stability.py)
    tags: list[TagRule] = []
    service: dict[str, Service] = {}
    entitlements: dict[str, Entitlement] = {}  # the catalogue: name -> label, for the card
    tag_entitlements: dict[str, TagGrant] = {}  # a tag's grants: key_person: {same_as: "5"}
    tag_groups: dict[str, Label] = {}  # identification classes of tags, in the order the card shows them
    # customer attributes the policy reads (a customers file's own columns): a file without one
    # leaves it unknown (NULL: rules on it do not fire) and the grading notes say so
    attributes: dict[str, Literal["text", "number", "date", "boolean"]] = {}
    inputs: InputRules = InputRules()
    profit: Profit | None = None  # the profit pyramid and small customers (policy/profit.py)
    alerts: AlertRules | None = None  # which changes between published runs are told (policy/alerts.py)

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
        check_entitlements(self)
        for tag in self.tags:
            if tag.group is not None and tag.group not in self.tag_groups:
                raise ValueError(
                    f"tags: '{tag.name}' is in group '{tag.group}', which is not in tag_groups:"
                    f"{did_you_mean(tag.group, list(self.tag_groups))}"
                )
        tags = [t.name for t in self.tags]
        if len(set(tags)) != len(tags):
            raise ValueError("tag names must be unique")
        if self.primary is not None and self.primary not in self.scores:
            raise ValueError(f"primary: '{self.primary}' is not one of the scores")
        for name in self.metrics:
            if not name.isidentifier():
                raise ValueError(f"metric name '{name}' must be a plain identifier")
        if self.alerts is not None:
            check_alerts(self.alerts, [t.name for t in self.tiers], tags, list(self.metrics))
        return self
