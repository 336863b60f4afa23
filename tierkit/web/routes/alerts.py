"""/app/alerts: the inbox of what published runs changed (every role; an agent sees the
customers they own), with filters, paging and a button that marks an alert read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tierkit.app.alerts import EVENTS, inbox, mark_read
from tierkit.errors import InputError
from tierkit.web.render import page
from tierkit.web.visitors import FormDep, ServiceDep, VisitorDep

router = APIRouter(prefix="/app", include_in_schema=False)
PAGE = 50


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    seen: VisitorDep,
    served: ServiceDep,
    event: Annotated[str | None, Query(max_length=40)] = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    unread: bool = False,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    chosen = event or None
    problem = None
    try:
        found = inbox(served, seen.caller, owner=owner or None, event=chosen, unread=unread, limit=PAGE, offset=offset)
    except InputError as err:
        problem, chosen = str(err), None
        found = inbox(served, seen.caller, owner=owner or None, unread=unread, limit=PAGE, offset=offset)
    shown: dict[str, Any] = {
        "found": {**found, "limit": PAGE, "offset": offset},
        "events": EVENTS,
        "event": chosen,
        "owner": owner or "",
        "unread": unread,
        "problem": problem,
    }
    return page(request, "alerts.html", seen.lang, seen, here="alerts", **shown)


@router.post("/alerts/{alert_id}/read", response_model=None)
def read_alert(
    alert_id: Annotated[int, Path(ge=1, le=2**62)], seen: VisitorDep, served: ServiceDep, form: FormDep
) -> RedirectResponse:
    mark_read(served, seen.caller, alert_id)
    back = str(form.get("back") or "/app/alerts")
    return RedirectResponse(back if back.startswith("/app/alerts") else "/app/alerts", status_code=303)
