"""/customers: the card at contact time, lists with filters, exports, overrides and contact logs.

Thin: each route checks the role, calls its use case in tierkit.app.customers, and builds the
response model of the caller's role (an agent's card carries only masked personal data).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import TypeAdapter
from starlette.background import BackgroundTask

from tierkit.api.answering import answered
from tierkit.api.deps import ALL, STAFF, ServiceDep, UserDep, allow, served
from tierkit.api.own_reading import QueryValue, caller_of, read_by_hand
from tierkit.api.schemas import (
    AgentCard,
    ComplaintIn,
    ComplaintOut,
    ContactIn,
    ContactOut,
    CustomerPage,
    HistoryPage,
    OverrideIn,
    ResolutionIn,
    StaffCard,
    TagIn,
    TagOut,
)
from tierkit.app import complaints as complaint_uses
from tierkit.app import customers as uses
from tierkit.app import history, tags
from tierkit.app.card import full_card
from tierkit.app.customers import Filters, Sort
from tierkit.app.downloads import download
from tierkit.app.masking import PERSONAL_FIELDS
from tierkit.errors import NotAllowedError, ValueRefusedError

router = APIRouter(prefix="/customers", tags=["customers"])
MAX_PAGE = 500


def _response(card: dict[str, Any], role: str) -> StaffCard | AgentCard:
    return AgentCard(**card) if role == "agent" else StaffCard(**card)


LANG = QueryValue("lang", TypeAdapter(Literal["zh", "en"] | None), "Default: the workspace's language")


@router.get(
    "/{customer_id}", response_model=StaffCard | AgentCard, **read_by_hand(ALL, path=("customer_id",), query=(LANG,))
)
async def customer_card(request: Request) -> Response:
    """The card at contact time: tier in effect (manual or not) and its service, scores, tags with
    actions and reasons, in the workspace's language or `?lang=`."""
    # read from the request, not declared: the hot route skips FastAPI's resolution (own_reading.py)
    user = await caller_of(request, ALL)
    service = served(request)
    customer_id, lang = request.path_params["customer_id"], LANG.of(request)

    def card() -> str:
        # the model is built and checked once, by us; FastAPI would validate it again on the way out
        return _response(full_card(service, customer_id, user, lang), user.role).model_dump_json()

    # on the event loop when the card waits on nothing (most cards), else in a thread
    return Response(await answered(card), media_type="application/json")


@dataclass
class ListFilters:
    """Filters shared by lists and exports; `tier` is the tier after overrides."""

    tier: str | None = None
    tag: str | None = None
    segment: str | None = None
    grid_cell: str | None = None


FiltersDep = Annotated[ListFilters, Depends()]
# a retried POST under the same key is done once (tierkit.store.idempotency; docs/api.md)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Any unique string (a UUID): a retry with the same key writes nothing new and "
        "answers the first write (a different request under a used key: 422)",
    ),
]


@router.get("", response_model=CustomerPage, **allow(*ALL))
def list_customers(
    user: UserDep,
    service: ServiceDep,
    chosen: FiltersDep,
    phone: Annotated[str | None, Query(max_length=40, description="Staff only")] = None,
    name: Annotated[str | None, Query(max_length=100, description="Staff only")] = None,
    sort: Annotated[str, Query(max_length=40, description="customer_id (default) or tier")] = "customer_id",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> CustomerPage:
    """Customers of the current run, filtered, in pages: `{"items": [...], "total": N}`."""
    filters = Filters(**asdict(chosen), phone=phone, name=name)
    return CustomerPage(**uses.customers(service, filters, user, _sort(sort, user.role), limit, offset))


def _sort(sort: str, role: str) -> Sort:
    """The order asked for: an agent asking for a personal field is refused as any personal
    search is (403, not the 422 of a mere typo); nobody sorts or pages by personal data."""
    if sort == "tier":
        return "tier"
    if sort == "customer_id":
        return "customer_id"
    if role == "agent" and sort in PERSONAL_FIELDS:
        raise NotAllowedError("agents cannot sort by personal data")
    raise ValueRefusedError(f"sort: '{sort}' is not offered (customer_id or tier)")


@router.get("/export/{fmt}", **allow(*STAFF))
def export_customers(
    fmt: Literal["csv", "xlsx"],
    user: UserDep,
    service: ServiceDep,
    chosen: FiltersDep,
) -> FileResponse:
    """The filtered list as CSV or XLSX (formula-like text escaped); written to the audit log."""
    made = download(lambda folder: uses.export(service, Filters(**asdict(chosen)), fmt, folder, user))
    return FileResponse(
        made.path, media_type=made.media_type, filename=made.path.name, background=BackgroundTask(made.discard)
    )


@router.post("/{customer_id}/override", response_model=StaffCard, status_code=201, **allow(*STAFF))
def override_tier(
    customer_id: str, body: OverrideIn, user: UserDep, service: ServiceDep, key: IdempotencyKey = None
) -> StaffCard | AgentCard:
    """Set a customer's tier by hand, with a reason and an expiry; it wins until it expires."""
    card = uses.override(service, customer_id, body.tier, body.reason, body.expires, user, key)
    return _response(card, user.role)


@router.post("/{customer_id}/contacts", response_model=ContactOut, status_code=201, **allow(*ALL))
def log_contact(
    customer_id: str, body: ContactIn, user: UserDep, service: ServiceDep, key: IdempotencyKey = None
) -> ContactOut:
    """Record that someone contacted the customer (the card shows when they last were)."""
    at = uses.log_contact(service, customer_id, body.channel, body.note, user, body.outcome, key)
    return ContactOut(customer_id=customer_id, at=at, by=user.name, channel=body.channel)


@router.post("/{customer_id}/tags", response_model=TagOut, status_code=201, **allow(*STAFF))
def give_tag(customer_id: str, body: TagIn, user: UserDep, service: ServiceDep) -> TagOut:
    """Give a tag by hand (集团关键人, a blacklisted complainer), with a reason and an optional expiry."""
    return TagOut(**tags.give(service, customer_id, body.tag, body.reason, body.expires, user))


@router.delete("/{customer_id}/tags/{tag}", status_code=204, **allow(*STAFF))
def remove_tag(customer_id: str, tag: str, user: UserDep, service: ServiceDep) -> Response:
    """End a tag a person gave."""
    tags.remove(service, customer_id, tag, user)
    return Response(status_code=204)


@router.post("/{customer_id}/complaints", response_model=ComplaintOut, status_code=201, **allow(*ALL))
def take_complaint(customer_id: str, body: ComplaintIn, user: UserDep, service: ServiceDep) -> ComplaintOut:
    """Take a complaint at the counter or on the phone; the card shows it and the next grading counts it."""
    return ComplaintOut(**complaint_uses.take(service, customer_id, body.topic, body.channel, body.detail, user))


@router.post("/{customer_id}/complaints/{complaint_id}/resolve", response_model=ComplaintOut, **allow(*ALL))
def resolve_complaint(
    customer_id: str, complaint_id: int, body: ResolutionIn, user: UserDep, service: ServiceDep
) -> ComplaintOut:
    """Close a complaint with how it was resolved."""
    return ComplaintOut(**complaint_uses.resolve(service, customer_id, complaint_id, body.resolution, user))


@router.get("/{customer_id}/{kind}", response_model=HistoryPage, **allow(*ALL))
def customer_history(
    customer_id: str,
    kind: Literal["orders", "interactions"],
    user: UserDep,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> HistoryPage:
    """The customer's orders or interactions, newest first, in pages."""
    return HistoryPage(**history.rows_of(service, customer_id, kind, user, limit, offset))
