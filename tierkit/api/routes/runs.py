"""/runs: the catalog, grading in the background with its progress, and migration between runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tierkit.api.deps import STAFF, ServiceDep, UserDep, allow
from tierkit.api.schemas import JobInfo, RunInfo, RunRequest
from tierkit.app import jobs
from tierkit.app.runs import diff
from tierkit.errors import NotFoundError, TierkitError

router = APIRouter(prefix="/runs", tags=["runs"])
MAX_MOVERS = 100_000  # movers in one answer: a negative or huge limit was a 500 from the engine


@router.get("", response_model=list[RunInfo], **allow(*STAFF))
def list_runs(service: ServiceDep) -> list[RunInfo]:
    """Every run in the catalog, oldest first; `current` marks the published one."""
    return [RunInfo(**row) for row in jobs.runs(service)]


@router.post("", response_model=JobInfo, status_code=202, **allow(*STAFF))
def start_run(body: RunRequest, user: UserDep, service: ServiceDep) -> JobInfo:
    """Grade the workspace in the background; poll GET /runs/{job_id} for its progress."""
    return JobInfo(**jobs.start_grading(service, user, body.as_of, body.publish, body.model_dump_json()))


@router.get("/{ref}", response_model=JobInfo | dict[str, Any], **allow(*STAFF))
def run_or_job(ref: str, service: ServiceDep) -> Any:
    """A grading job's progress (job-...), or a run's manifest (run id, 'current' or 'previous')."""
    if ref.startswith("job-"):
        return JobInfo(**jobs.job(service, ref))
    return jobs.manifest(service, ref)


@router.get("/{run_a}/diff/{run_b}", **allow(*STAFF))
def migration(
    run_a: str,
    run_b: str,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=0, le=MAX_MOVERS, description="Movers listed (0: the matrix only)")] = 20,
) -> dict[str, Any]:
    """Migration between two runs: the tier x tier matrix (counts and value) and who moved."""
    try:
        return diff(service.workspace.root, run_a, run_b, limit)
    except TierkitError as err:
        raise NotFoundError(str(err)) from err
