"""/customers: the card at contact time, lists with filters, exports, overrides and contact logs.

Thin: each route checks the role, calls its use case in tierkit.app.customers, and builds the
response model of the caller's role (an agent's card carries only masked personal data).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from tierkit.api.deps import ALL, STAFF, ServiceDep, UserDep, allow
from tierkit.api.schemas import AgentCard, ContactIn, ContactOut, CustomerPage, OverrideIn, StaffCard
from tierkit.app import customers as uses
from tierkit.app.customers import Filters, Sort

router = APIRouter(prefix="/customers", tags=["customers"])
MAX_PAGE = 500


def _response(card: dict[str, Any], role: str) -> StaffCard | AgentCard:
    return AgentCard(**card) if role == "agent" else StaffCard(**card)


@router.get("/{customer_id}", response_model=StaffCard | AgentCard, **allow(*ALL))
def customer_card(
    customer_id: str,
    user: UserDep,
    service: ServiceDep,
    lang: Annotated[Literal["zh", "en"] | None, Query(description="Default: the workspace's language")] = None,
) -> Response:
    """The card at contact time: tier in effect (manual or not) and its service, scores, tags with
    actions and reasons, in the workspace's language or `?lang=`."""
    card = _response(uses.card(service, customer_id, user, lang), user.role)
    # the model is built and checked once, by us; FastAPI would validate it again on the way out
    return Response(card.model_dump_json(), media_type="application/json")


@dataclass
class ListFilters:
    """Filters shared by lists and exports; `tier` is the tier after overrides."""

    tier: str | None = None
    tag: str | None = None
    segment: str | None = None
    grid_cell: str | None = None


FiltersDep = Annotated[ListFilters, Depends()]


@router.get("", response_model=CustomerPage, **allow(*ALL))
def list_customers(
    user: UserDep,
    service: ServiceDep,
    chosen: FiltersDep,
    phone: Annotated[str | None, Query(max_length=40, description="Staff only")] = None,
    name: Annotated[str | None, Query(max_length=100, description="Staff only")] = None,
    sort: Sort = "customer_id",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> CustomerPage:
    """Customers of the current run, filtered, in pages: `{"items": [...], "total": N}`."""
    filters = Filters(**asdict(chosen), phone=phone, name=name)
    return CustomerPage(**uses.customers(service, filters, user, sort, limit, offset))


@router.get("/export/{fmt}", **allow(*STAFF))
def export_customers(
    fmt: Literal["csv", "xlsx"],
    user: UserDep,
    service: ServiceDep,
    chosen: FiltersDep,
) -> FileResponse:
    """The filtered list as CSV or XLSX (formula-like text escaped); written to the audit log."""
    folder = Path(tempfile.mkdtemp(prefix="tierkit-export-"))
    try:
        target, _ = uses.export(service, Filters(**asdict(chosen)), fmt, folder, user)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    media = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return FileResponse(
        target, media_type=media, filename=target.name, background=BackgroundTask(shutil.rmtree, folder, True)
    )


@router.post("/{customer_id}/override", response_model=StaffCard, status_code=201, **allow(*STAFF))
def override_tier(customer_id: str, body: OverrideIn, user: UserDep, service: ServiceDep) -> StaffCard | AgentCard:
    """Set a customer's tier by hand, with a reason and an expiry; it wins until it expires."""
    card = uses.override(service, customer_id, body.tier, body.reason, body.expires, user)
    return _response(card, user.role)


@router.post("/{customer_id}/contacts", response_model=ContactOut, status_code=201, **allow(*ALL))
def log_contact(customer_id: str, body: ContactIn, user: UserDep, service: ServiceDep) -> ContactOut:
    """Record that someone contacted the customer (the card shows when they last were)."""
    at = uses.log_contact(service, customer_id, body.channel, body.note, user)
    return ContactOut(customer_id=customer_id, at=at, by=user.name, channel=body.channel)
