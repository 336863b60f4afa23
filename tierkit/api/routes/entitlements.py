"""/customers/{id}/entitlements: what a customer may have now, and a use recorded at the counter.

Every role: agents at the counter check and record them. A use the tier does not grant, or whose
limit is spent, is refused with 409 and the reason in words; a code the policy does not define
is 400. Included before the customers router, whose `/{customer_id}/{kind}` would match first.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from tierkit.api.deps import ALL, ServiceDep, UserDep, allow
from tierkit.api.schemas import EntitlementItem, EntitlementUseIn, EntitlementUseOut
from tierkit.app import entitlements as uses

router = APIRouter(prefix="/customers", tags=["entitlements"])
LangQuery = Annotated[Literal["zh", "en"] | None, Query(description="Default: the workspace's language")]


@router.get("/{customer_id}/entitlements", response_model=list[EntitlementItem], **allow(*ALL))
def list_entitlements(customer_id: str, service: ServiceDep, lang: LangQuery = None) -> list[EntitlementItem]:
    """The entitlements in effect (the tier in effect's and its tags'), each with its limit and
    what is left of it this period (`limit`, `remaining`: null when unlimited)."""
    return [EntitlementItem(**item) for item in uses.entitlements(service, customer_id, lang)]


@router.post("/{customer_id}/entitlements/{code}/use", response_model=EntitlementUseOut, status_code=201, **allow(*ALL))
def use_entitlement(
    customer_id: str,
    code: str,
    user: UserDep,
    service: ServiceDep,
    body: EntitlementUseIn | None = None,
    lang: LangQuery = None,
) -> EntitlementUseOut:
    """Record a use (the code, or its label: 免费补卡); 409 with the reason when the customer is not
    entitled to it or its limit is spent this period. Audited."""
    note = body.note if body is not None else None
    return EntitlementUseOut(**uses.use(service, customer_id, code, user, note, lang))
