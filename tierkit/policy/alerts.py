"""The `alerts:` section of a policy: which changes between two published runs are worth telling.

A manager cannot read a 50,000-row migration matrix every month; the owner of a customer needs
to hear that this one customer moved down, crossed the churn threshold, was tagged a serial
complainer (黑名单) or key person (集团关键人), or, being a key customer, stopped buying. Each
rule is data:

    alerts:
      tier_up: true
      tier_down: true
      churn_risk: {metric: churn_risk, above: 0.6}
      tags: [serial_complainer, key_person]
      key_customer_lost: {tiers: [vip], recency: recency_days, after_days: 90}

Events are found by comparing the run just published with the one it replaced
(tierkit/runs/changes.py); names here are checked against the policy when it loads.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from tierkit.policy.base import Strict

EVENTS = ("tier_up", "tier_down", "churn_risk", "tag_added", "key_customer_lost")


class ChurnCrossing(Strict):
    """A customer's risk is at or above `above` in this run and was below it (or unknown) before."""

    metric: str = "churn_risk"
    above: Decimal = Field(gt=0, le=1)


class KeyCustomerLost(Strict):
    """A customer of a key tier (in the run before) with no order for more than `after_days` now,
    who had one within them before: the seed's 关键客户流失."""

    tiers: list[str] = Field(min_length=1)
    recency: str = "recency_days"  # the metric: days since the last order
    after_days: int = Field(gt=0, le=3660)


class AlertRules(Strict):
    tier_up: bool = True
    tier_down: bool = True
    churn_risk: ChurnCrossing | None = None
    tags: list[str] = []  # a tag newly on a customer (serial_complainer, key_person ...)
    key_customer_lost: KeyCustomerLost | None = None

    def events(self) -> list[str]:
        """The events this policy can emit, in EVENTS order."""
        on = {
            "tier_up": self.tier_up,
            "tier_down": self.tier_down,
            "churn_risk": self.churn_risk is not None,
            "tag_added": bool(self.tags),
            "key_customer_lost": self.key_customer_lost is not None,
        }
        return [event for event in EVENTS if on[event]]


def check_alerts(rules: AlertRules, tiers: list[str], tags: list[str], metrics: list[str]) -> None:
    """Every name the rules use is one the policy defines (a typo would silently never fire)."""
    from tierkit.errors import did_you_mean

    for tag in rules.tags:
        if tag not in tags:
            raise ValueError(f"alerts: tags: '{tag}' is not one of the policy's tags{did_you_mean(tag, tags)}")
    wanted = []
    if rules.churn_risk is not None:
        wanted.append(("churn_risk: metric", rules.churn_risk.metric))
    lost = rules.key_customer_lost
    if lost is not None:
        wanted.append(("key_customer_lost: recency", lost.recency))
        for tier in lost.tiers:
            if tiers and tier not in tiers:
                raise ValueError(f"alerts: key_customer_lost: '{tier}' is not a tier{did_you_mean(tier, tiers)}")
    for where, metric in wanted:
        if metric not in metrics:
            raise ValueError(f"alerts: {where} '{metric}' is not one of the metrics{did_you_mean(metric, metrics)}")
