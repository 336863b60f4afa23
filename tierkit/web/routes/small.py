"""/app/small: the small customers (小客户管理法) as upgrade and weed-out candidates (staff).

The lists are tierkit.app.small's (what `tierkit small` and `GET /small` give): the bottom of the
published run by value, each candidate with the reasons in words, the action and, for an
upgrade, the plan. This module picks the list and the page of it, and hands both lists over
whole as CSV or XLSX (audited), removing the temporary folder once sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.background import BackgroundTask

from tierkit.app.downloads import download
from tierkit.app.small import small_customers
from tierkit.errors import InputError, PolicyError
from tierkit.web.render import page
from tierkit.web.visitors import ServiceDep, StaffDep

router = APIRouter(prefix="/app", include_in_schema=False)
PAGE = 50
LISTS = ("upgrade", "weed_out")


@router.get("/small", response_class=HTMLResponse)
def small_page(
    request: Request,
    seen: StaffDep,
    served: ServiceDep,
    which: Annotated[Literal["upgrade", "weed_out"], Query(alias="list")] = "upgrade",
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> HTMLResponse:
    found: dict[str, Any] | None = None
    problem = None
    try:
        found = small_customers(served.workspace.root, seen.lang, PAGE, None, offset, which)
    except (InputError, PolicyError) as err:  # no run yet, or a policy without a value measure
        problem = str(err)
    shown: dict[str, Any] = {"which": which, "names": LISTS, "found": found, "problem": problem}
    if found is not None:
        shown["paged"] = {"items": found[which]["items"], "total": found[which]["count"], "limit": PAGE}
        shown["paged"]["offset"] = offset
    return page(request, "small.html", seen.lang, seen, here="small", **shown)


@router.get("/small.{fmt}", response_model=None)
def small_download(fmt: Literal["csv", "xlsx"], seen: StaffDep, served: ServiceDep) -> FileResponse:
    """Both lists whole, upgrade first, in the page's language: CSV with a BOM (for Excel) or XLSX."""

    def write(folder: Path) -> tuple[Path, int]:
        target = folder / f"small-customers.{fmt}"
        return target, int(small_customers(served.workspace.root, seen.lang, 0, target)["written"])

    made = download(write)
    detail = json.dumps({"rows": made.rows})
    served.audit.record(seen.caller.name, seen.role, "export", f"small.{fmt}", detail, now=True)
    return FileResponse(
        made.path, media_type=made.media_type, filename=made.path.name, background=BackgroundTask(made.discard)
    )
