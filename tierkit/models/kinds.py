"""The metric kinds the models add to the policy language: `clv:` and `churn:`.

Declared here, light (pydantic only), and registered through the entry point group
`tierkit.metric_kinds` (pyproject.toml): the policy checks their parameters, the engine joins
what their builders give, the card shows their values in words, and none of them names a model.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tierkit.policy.kinds import KindParameters, MetricKind
from tierkit.policy.model import check_window


def _horizon(value: str | None) -> str | None:
    if value == "all":
        raise ValueError("horizon 'all' has no end: give a window such as 90D or 12M")
    return check_window(value)


class ClvParameters(KindParameters):
    """BG/NBD + Gamma-Gamma predictions (models.predictions)."""

    clv: Literal["p_alive", "purchases", "order_value", "value"]
    horizon: str | None = None  # purchases and value: how far ahead, e.g. 12M or 90D
    discount: Decimal | None = Field(None, ge=0, le=1)  # value: yearly discount rate (default 0.1)
    time_unit: Literal["day", "week", "month"] | None = None  # the models' unit (default week)

    _check = field_validator("horizon")(classmethod(lambda cls, v: _horizon(v)))

    @model_validator(mode="after")
    def _needs_horizon(self) -> ClvParameters:
        if self.clv in ("purchases", "value") and self.horizon is None:
            raise ValueError(f"clv: {self.clv} needs a horizon, e.g. horizon: 12M")
        return self


class ChurnParameters(KindParameters):
    """The churn-risk model trained on the customers' own history (models.churn): served only
    when it beats recency on validation, else a recency baseline (models.churn_validation)."""

    churn: Literal["risk", "signals"]
    horizon: str  # no order within it counts as churned, e.g. 90D

    _check = field_validator("horizon")(classmethod(lambda cls, v: _horizon(v)))

    @model_validator(mode="before")
    @classmethod
    def _horizon_given(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("discount", "time_unit"):
                if key in data:
                    raise ValueError("discount and time_unit belong to clv metrics")
            if "horizon" not in data:
                raise ValueError("churn needs a horizon: no order within it counts as churned, e.g. horizon: 90D")
        return data


CLV = MetricKind(
    name="clv",
    parameters=ClvParameters,
    build="tierkit.models.predictions:CLV_METRICS",
    description="customer lifetime value: P(alive), expected purchases, order value, discounted value",
)
CHURN = MetricKind(
    name="churn",
    parameters=ChurnParameters,
    build="tierkit.models.churn:CHURN_METRICS",
    display="tierkit.models.churn_words:display",  # light: a card imports no model
    description="churn risk (0..1) and the signals that drove it, each with the customer's value",
)


class RecommendParameters(KindParameters):
    """What a customer buys most, and what customers like them buy that they do not (models.recommend)."""

    recommend: Literal["favourite", "next"]
    of: Literal["category", "channel", "business_line"] = "category"  # an orders column
    window: str = "12M"

    _check = field_validator("window")(classmethod(lambda cls, v: check_window(v)))


RECOMMEND = MetricKind(
    name="recommend",
    parameters=RecommendParameters,
    build="tierkit.models.recommend:RECOMMEND_METRICS",
    description="the customer's favourite category (业务偏好), and the one peers with the same favourite buy most"
    " that they have not (增值业务推荐)",
)
