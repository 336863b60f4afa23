"""/small: the published run's small customers (小客户管理法) as upgrade or weed-out candidates (staff).

The use case is tierkit.app.small (what `tierkit small` prints): the engine ranks the run by its
value measure, takes the bottom share and judges each small customer; the counts of both lists
and one page of the asked list come back, each customer with the reasons in words (the
workspace's language, or `?lang=`), the action and, for an upgrade, the plan.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tierkit.api.deps import STAFF, ServiceDep, allow
from tierkit.app.small import small_customers

router = APIRouter(tags=["small"])
MAX_PAGE = 500


class SmallItem(BaseModel):
    customer_id: str
    tier: str | None = Field(description="The tier in effect (a person's override wins)")
    tier_label: str | None
    value: str | None = Field(description="The value measure the customers are ranked by")
    value_rank: int = Field(description="1 is the most valuable customer of the run")
    margin: str | None = None
    cost_to_serve: str | None = None
    profit: str | None = Field(default=None, description="margin − cost to serve, where the policy has them")
    signals: list[str] = Field(description="growth, breadth, clv; late, unpaid, complaints, loss")
    why: str = Field(description="The signals in words, with the customer's values and the thresholds")
    action: str | None = Field(description="offer_higher_margin, restrict_service, cheaper_channels, end_relationship")
    action_label: str | None
    plan: str | None = Field(default=None, description="An upgrade's plan in words: the target tier by a date")
    target_tier: str | None = None
    target_date: str | None = None


class SmallCounts(BaseModel):
    upgrade: int
    weed_out: int
    by_action: dict[str, int] = Field(description="Weed-out candidates per action")


class SmallPage(BaseModel):
    run_id: str
    as_of: str
    lang: str
    value_metric: str
    customers: int = Field(description="Customers in the run")
    bottom: float = Field(description="The share of customers (by value, from the bottom) judged as small")
    small_customers: int
    protected: int = Field(description="Small customers kept off both lists by a protecting tag (集团关键人)")
    counts: SmallCounts
    listed: Literal["upgrade", "weed_out"] = Field(alias="list", description="The list the page is of")
    items: list[SmallItem]
    total: int = Field(description="Customers on the asked list")
    limit: int
    offset: int
    notes: list[str] = Field(description="Signals the run could not test, in words")


@router.get("/small", response_model=SmallPage, **allow(*STAFF))
def small_list(
    service: ServiceDep,
    listed: Annotated[Literal["upgrade", "weed_out"], Query(alias="list", description="Which list")] = "upgrade",
    lang: Annotated[Literal["zh", "en"] | None, Query(description="Default: the workspace's language")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> SmallPage:
    """Small customers (the bottom of the run by value) as upgrade or weed-out candidates: the
    counts of both lists and a page of one, in working order, each with why and what to do."""
    chosen = lang or service.settings.lang
    found = small_customers(service.workspace.root, chosen, limit, None, offset, listed)
    weed = found["weed_out"]
    return SmallPage(
        run_id=found["run_id"],
        as_of=found["as_of"],
        lang=chosen,
        value_metric=found["value_metric"],
        customers=found["customers"],
        bottom=found["bottom"],
        small_customers=found["small_customers"],
        protected=found["protected"],
        counts=SmallCounts(upgrade=found["upgrade"]["count"], weed_out=weed["count"], by_action=weed["by_action"]),
        list=listed,
        items=[SmallItem(**item) for item in found[listed]["items"]],
        total=found[listed]["count"],
        limit=limit,
        offset=offset,
        notes=found["notes"],
    )
