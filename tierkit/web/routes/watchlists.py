"""/app/watchlists: who may leave, who fell a tier since the run before, who complains or pays
late; for every role, with exports for staff.

The lists are tierkit.app.watchlists' (one query each over the published run, the tier in
effect, the same order the exports have); this module picks the list and the page of it, and
hands the export's file over, removing its temporary folder once sent. A list the policy or the
history cannot support shows the application layer's note in words, never an empty table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.background import BackgroundTask

from tierkit.app import watchlists as lists
from tierkit.app.downloads import download
from tierkit.errors import NotFoundError
from tierkit.web.catalogue import text
from tierkit.web.render import page
from tierkit.web.visitors import ServiceDep, StaffDep, VisitorDep

router = APIRouter(prefix="/app", include_in_schema=False)
PAGE = 50
LISTS: dict[str, Callable[..., dict[str, Any]]] = {
    "churn": lists.churn_watch,
    "moved_down": lists.moved_down,
    "flagged": lists.flagged,
}
MEDIA = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/watchlists", response_class=HTMLResponse)
def watchlists_page(
    request: Request,
    seen: VisitorDep,
    served: ServiceDep,
    which: Annotated[str, Query(alias="list", max_length=40)] = "churn",
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> HTMLResponse:
    if which not in LISTS:
        raise NotFoundError(text("watchlists.no_such_list", seen.lang, name=which))
    found = LISTS[which](served, seen.caller, PAGE, offset, seen.lang)
    return page(
        request,
        "watchlists.html",
        seen.lang,
        seen,
        here="watchlists",
        which=which,
        names=list(LISTS),
        found=found,
    )


@router.get("/watchlists/{which}.{fmt}", response_model=None)
def export_list(
    which: Literal["churn", "moved_down", "flagged"],
    fmt: Literal["csv", "xlsx"],
    seen: StaffDep,
    served: ServiceDep,
) -> FileResponse:
    """The whole list as CSV (with a BOM, for Excel) or XLSX, in the page's language; audited by
    the application layer. The temporary folder goes once the file is sent (or the export fails)."""
    made = download(lambda folder: lists.export_watchlist(served, which, fmt, folder, seen.caller, seen.lang))
    return FileResponse(
        made.path, media_type=made.media_type, filename=made.path.name, background=BackgroundTask(made.discard)
    )
