"""Stable tiers as data: how long a customer keeps a tier after falling below it.

`stability: {downgrade_after_runs: 2, grace_days: 90}`: an upgrade applies at once; a downgrade
only once the customer has been graded below the tier in `downgrade_after_runs` consecutive runs
(this one included), or once `grace_days` have passed since the first of those runs, whichever
comes first. A policy gives one or both. The grading does the counting (engine/stability.py),
with the previous run's result as an input of the expression; this module is only the model.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from tierkit.policy.base import Strict

# Columns a grading with stability adds to its result, beside `tier` (the tier that applies):
# what the rules gave, and what the next run needs to continue the count.
GRADED_TIER = "graded_tier"
BELOW_RUNS = "below_runs"
KEPT_SINCE = "kept_since"
COLUMNS = (GRADED_TIER, BELOW_RUNS, KEPT_SINCE)


class Stability(Strict):
    """When a downgrade goes through: after N consecutive runs below the tier, or after the grace
    period (days from the as-of date of the first run below it), whichever comes first."""

    downgrade_after_runs: int | None = Field(None, le=100)
    grace_days: int | None = Field(None, ge=1, le=3660)

    @field_validator("downgrade_after_runs")
    @classmethod
    def _two_or_more(cls, value: int | None) -> int | None:
        if value is not None and value < 2:
            raise ValueError(f"{value} would move a customer down at the first run below the tier: use 2 or more")
        return value

    @model_validator(mode="after")
    def _one_of_them(self) -> Stability:
        if self.downgrade_after_runs is None and self.grace_days is None:
            raise ValueError("stability needs downgrade_after_runs (e.g. 2) or grace_days (e.g. 90), or both")
        return self
