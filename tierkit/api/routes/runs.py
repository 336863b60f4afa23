"""/runs: the catalog, grading in the background with its progress, and migration between runs."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, HTTPException, status

from tierkit.api.deps import STAFF, ServiceDep, UserDep, allow
from tierkit.api.schemas import JobInfo, RunInfo, RunRequest
from tierkit.app.grading import grade_workspace
from tierkit.app.runs import diff
from tierkit.app.serving import ServedWorkspace
from tierkit.errors import TierkitError
from tierkit.runs.files import load_run
from tierkit.store import catalog
from tierkit.store import jobs as job_store

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("", response_model=list[RunInfo], **allow(*STAFF))
def list_runs(service: ServiceDep) -> list[RunInfo]:
    """Every run in the catalog, oldest first; `current` marks the published one."""
    current = service.current_id()
    return [RunInfo(**row, current=row["run_id"] == current) for row in catalog.catalog(service.store)]


def _grade(service: ServedWorkspace, job_id: str, request: RunRequest) -> None:
    def say(text: str) -> None:
        job_store.step(service.store, job_id, text)

    try:
        job_store.step(service.store, job_id, "starting")
        summary = grade_workspace(
            workspace=service.workspace.root,
            orders=None,
            customers=None,
            interactions=None,
            contacts=None,
            policy=None,
            as_of=request.as_of,
            output=None,
            engine=None,
            lang=service.settings.lang,
            publish=request.publish,
            progress=say,
        )
        job_store.finish(service.store, job_id, str(summary["run_id"]), None)
    except TierkitError as err:
        job_store.finish(service.store, job_id, None, str(err))
    except Exception as err:  # a bug: keep it visible on the job, not only in the server log
        job_store.finish(service.store, job_id, None, f"{type(err).__name__}: {err}")


@router.post("", response_model=JobInfo, status_code=202, **allow(*STAFF))
def start_run(body: RunRequest, user: UserDep, service: ServiceDep) -> JobInfo:
    """Grade the workspace in the background; poll GET /runs/{job_id} for its progress."""
    job_id = job_store.start(service.store, user.name)
    service.audit.record(user.name, user.role, "grade", job_id, body.model_dump_json(), now=True)
    threading.Thread(target=_grade, args=(service, job_id, body), name=job_id, daemon=True).start()
    return JobInfo(**(job_store.get(service.store, job_id) or {}))


@router.get("/{ref}", response_model=JobInfo | dict[str, Any], **allow(*STAFF))
def run_or_job(ref: str, service: ServiceDep) -> Any:
    """A grading job's progress (job-...), or a run's manifest (run id, 'current' or 'previous')."""
    if ref.startswith("job-"):
        job = job_store.get(service.store, ref)
        if job is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job '{ref}'")
        return JobInfo(**job)
    try:
        return load_run(service.workspace, ref).manifest
    except TierkitError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from None


@router.get("/{run_a}/diff/{run_b}", **allow(*STAFF))
def migration(run_a: str, run_b: str, service: ServiceDep, limit: int = 20) -> dict[str, Any]:
    """Migration between two runs: the tier x tier matrix (counts and value) and who moved."""
    try:
        return diff(service.workspace.root, run_a, run_b, limit)
    except TierkitError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from None
