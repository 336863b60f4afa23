"""/customers/{id}/owner: give one customer another owner (客户经理) by hand, with the reason (staff).

The use case is tierkit.app.owners.reassign: the customer must be one of the workspace's
customers (404 otherwise), the owner and the reason must say something (422), and a customer
already served by that owner is 409. Every reassignment is audited (`reassign_owner`).
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tierkit.api.deps import STAFF, ServiceDep, UserDep, allow
from tierkit.api.schemas import Line, Lines
from tierkit.app import owners

router = APIRouter(prefix="/customers", tags=["owners"])


class OwnerIn(BaseModel):
    owner: Line = Field(min_length=1, max_length=owners.MAX_OWNER, description="The new owner (客户经理)")
    reason: Lines = Field(min_length=1, max_length=owners.MAX_REASON, description="Why, kept with the assignment")


class OwnerOut(BaseModel):
    customer_id: str
    owner: str
    previous_owner: str | None = Field(description="The owner before, from the customers file or an assignment")


@router.put("/{customer_id}/owner", response_model=OwnerOut, **allow(*STAFF))
def reassign_owner(customer_id: str, body: OwnerIn, user: UserDep, service: ServiceDep) -> OwnerOut:
    """Give the customer another owner, with the reason; plans made from now on follow the new
    owner. Audited (`reassign_owner`: "old -> new: reason")."""
    return OwnerOut(**owners.reassign(service, customer_id, body.owner, body.reason, user))
