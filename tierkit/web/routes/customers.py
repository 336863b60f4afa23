"""/app/customers: find a customer and list customers by tier, tag, segment or grid cell.

One search box reads what was typed (tierkit.app.search): an exact id or full phone number opens
that customer's card at once (the counter's case); a name or its pinyin (staff only) lists the
matches. Lists and exports are the application layer's (tier in effect, audited, masked for
agents); this module turns the query string into its filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.background import BackgroundTask

from tierkit.app import customers as uses
from tierkit.app.choices import filter_choices
from tierkit.app.customers import Filters, resolve_id
from tierkit.app.downloads import download
from tierkit.app.search import ids_by_pinyin, read_query
from tierkit.errors import NotAllowedError, TooManyError
from tierkit.web.render import page
from tierkit.web.visitors import ServiceDep, StaffDep, Visitor, VisitorDep

router = APIRouter(prefix="/app", include_in_schema=False)
PAGE = 50


@dataclass
class Asked:
    """What the list's query string asks: the search text and the filters (empty means any)."""

    q: Annotated[str, Query(max_length=100)] = ""
    tier: str | None = None
    tag: str | None = None
    segment: str | None = None
    grid_cell: str | None = None

    def chosen(self) -> dict[str, str | None]:
        return {"tier": self.tier or None, "tag": self.tag or None, "segment": self.segment or None} | {
            "grid_cell": self.grid_cell or None
        }


AskedDep = Annotated[Asked, Depends()]


def _filters(seen: Visitor, served: ServiceDep, q: str, chosen: dict[str, str | None]) -> tuple[Filters, str | None]:
    """The filters for the list, and a customer id when the text names exactly one customer."""
    filters = Filters(tier=chosen["tier"], tag=chosen["tag"], segment=chosen["segment"], grid_cell=chosen["grid_cell"])
    if not q:
        return filters, None
    query = read_query(q)
    if query.customer_id is not None:
        snapshot = served.snapshot()
        found, _ = resolve_id(served, snapshot, query.customer_id)
        if snapshot.table.has(found):
            return filters, query.customer_id
        filters.customer_ids = ()
        return filters, None
    if query.phone is not None:
        filters.phone = query.phone
        return filters, None
    if not seen.staff:
        raise NotAllowedError("agents look a customer up by id or full phone number only")
    if query.name is not None:
        filters.name = query.name
    else:
        filters.customer_ids = tuple(ids_by_pinyin(served, query.pinyin or ""))
    return filters, None


@router.get("/customers", response_class=HTMLResponse, response_model=None)
def customers_page(
    request: Request,
    seen: VisitorDep,
    served: ServiceDep,
    asked: AskedDep,
    sort: Literal["customer_id", "tier"] = "customer_id",
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> HTMLResponse | RedirectResponse:
    q, chosen = asked.q, asked.chosen()
    error = None
    try:
        filters, exact = _filters(seen, served, q, chosen)
        if exact is not None:
            return RedirectResponse(f"/app/customers/{exact}", status_code=303)
        found = uses.customers(served, filters, seen.caller, sort, PAGE, offset)
        if filters.phone and found["total"] == 1 and not any(chosen.values()):
            return RedirectResponse(f"/app/customers/{found['items'][0]['customer_id']}", status_code=303)
    except (NotAllowedError, TooManyError) as err:
        error, found = str(err), {"items": [], "total": 0, "limit": PAGE, "offset": 0}
    return page(
        request,
        "customers.html",
        seen.lang,
        seen,
        found=found,
        q=q,
        chosen=chosen,
        sort=sort,
        choices=filter_choices(served, seen.lang),
        error=error,
        here="customers",
    )


@router.get("/customers.{fmt}", response_model=None)
def export_page(
    fmt: Literal["csv", "xlsx"],
    seen: StaffDep,
    served: ServiceDep,
    asked: AskedDep,
) -> FileResponse:
    """The current filter as CSV (with a BOM, for Excel) or XLSX; audited by the application layer."""
    filters, exact = _filters(seen, served, asked.q, asked.chosen())
    if exact is not None:
        filters.customer_ids = (exact,)
    made = download(lambda folder: uses.export(served, filters, fmt, folder, seen.caller))
    return FileResponse(
        made.path, media_type=made.media_type, filename=made.path.name, background=BackgroundTask(made.discard)
    )
