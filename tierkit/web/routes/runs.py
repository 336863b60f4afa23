"""/app/runs: the runs of the workspace, grading now in the background, and publishing a run.

Everything here is the application layer's: the list is tierkit.app.runs.runs (read from the
run folders and the store's current pointer, as `tierkit runs` prints it) with each run's
creation and publication times from the catalog (tierkit.app.jobs.runs, as GET /runs lists
them); grading is tierkit.app.jobs.start_grading (a thread, its steps recorded in the store,
audited there); publishing is tierkit.app.runs.publish. A small JSON endpoint gives a job's state
for the progress bar (static/runs.js polls it).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from tierkit.app import jobs
from tierkit.app import runs as run_uses
from tierkit.errors import NotFoundError, RequestError, WorkspaceError
from tierkit.web.catalogue import text
from tierkit.web.render import SECURITY_HEADERS, page
from tierkit.web.visitors import FormDep, ServiceDep, StaffDep

router = APIRouter(prefix="/app", include_in_schema=False)
JOB_ID = r"^job-\d{14}-[0-9a-f]{6}$"

# How far a grading job has got, from the step it last recorded (tierkit.app.grading's progress
# lines, in order): the share of the bar, and the words for it.
STEPS = (
    ("starting", 5, "runs.step.starting"),
    ("reading inputs", 15, "runs.step.reading"),
    ("folding linked", 30, "runs.step.folding"),
    ("planning", 45, "runs.step.planning"),
    ("grading into", 80, "runs.step.writing"),
)


def progress(found: dict[str, Any], lang: str) -> dict[str, Any]:
    """A job as the page and its script show it: state, words for the step, a percentage."""
    state = str(found.get("state") or "queued")
    step = str(found.get("step") or "")
    percent, words = 0, text("runs.step.queued", lang)
    if state in ("done", "failed"):
        percent, words = 100, text(f"runs.step.{state}", lang)
    elif step:
        percent, words = 2, step
        for prefix, share, key in STEPS:
            if step.startswith(prefix):
                percent, words = share, text(key, lang)
    run_id = found.get("run_id")
    return {
        "job_id": found["job_id"],
        "state": state,
        "step": step or None,
        "words": words,
        "percent": percent,
        "finished": state in ("done", "failed"),
        "run_id": run_id,
        "error": found.get("error"),
        "started_by": found.get("started_by"),
        "url": f"/app/runs?job={found['job_id']}",
        "migration_url": f"/app/migration?to={run_id}" if run_id else None,
    }


def _table(served: ServiceDep) -> list[dict[str, Any]]:
    """The runs, newest as-of first, each with when it was created and last published."""
    listed = {str(r["run_id"]): r for r in jobs.runs(served)}
    rows = [
        {**r, "created_at": listed.get(r["run_id"], {}).get("created_at")}
        | {"published_at": listed.get(r["run_id"], {}).get("published_at")}
        for r in run_uses.runs(served.workspace.root)
    ]
    return sorted(rows, key=lambda r: (str(r["as_of"]), str(r["created_at"] or "")), reverse=True)


def _job(served: ServiceDep, job_id: str, lang: str) -> dict[str, Any]:
    try:
        return jobs.job(served, job_id)
    except NotFoundError as err:
        raise NotFoundError(text("runs.no_such_job", lang, job=job_id)) from err


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    seen: StaffDep,
    served: ServiceDep,
    job: Annotated[str | None, Query(pattern=JOB_ID)] = None,
    published: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    rows = _table(served)
    current = next((r for r in rows if r["current"]), None)
    shown_job = progress(_job(served, job, seen.lang), seen.lang) if job else None
    just_published = current if current is not None and published == current["run_id"] else None
    return page(
        request,
        "runs.html",
        seen.lang,
        seen,
        here="runs",
        rows=rows,
        current=current,
        job=shown_job,
        just_published=just_published,
    )


@router.post("/runs/grade", response_model=None)
def grade_now(seen: StaffDep, form: FormDep, served: ServiceDep) -> RedirectResponse:
    """Start grading the workspace (tierkit.app.jobs), then follow the job on the runs page."""
    as_of = str(form.get("as_of") or "").strip() or None
    if as_of is not None:
        try:
            dt.date.fromisoformat(as_of)
        except ValueError as err:
            raise RequestError(text("runs.bad_date", seen.lang, value=as_of)) from err
    # ticked: publish unless the published run is as of a later date (the app's default); not: keep
    publish = None if form.get("publish") else False
    started = jobs.start_grading(
        served, seen.caller, as_of, publish, json.dumps({"as_of": as_of, "publish": publish, "via": "workbench"})
    )
    return RedirectResponse(f"/app/runs?job={started['job_id']}", status_code=303)


@router.get("/runs/jobs/{job_id}", response_model=None)
def job_state(seen: StaffDep, served: ServiceDep, job_id: Annotated[str, Path(pattern=JOB_ID)]) -> JSONResponse:
    """A grading job's state, step and percentage, for the progress bar."""
    try:
        found = jobs.job(served, job_id)
    except NotFoundError as err:
        return JSONResponse({"detail": str(err)}, status_code=404, headers=SECURITY_HEADERS)
    return JSONResponse(progress(found, seen.lang), headers=SECURITY_HEADERS)


@router.post("/runs/publish", response_model=None)
def publish(seen: StaffDep, form: FormDep, served: ServiceDep) -> RedirectResponse:
    """Make a run the published one (tierkit.app.runs.publish), then say so on the runs page."""
    run = str(form.get("run") or "").strip()
    if not run:
        raise RequestError(text("runs.no_run_given", seen.lang))
    try:
        done = run_uses.publish_as(served, run, seen.caller)
    except WorkspaceError as err:
        raise NotFoundError(text("runs.no_such_run", seen.lang, run=run)) from err
    return RedirectResponse(f"/app/runs?published={done}", status_code=303)
