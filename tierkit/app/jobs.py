"""Grading in the background, as a service does it: a job with its steps, and the run catalog.

The job runs `grade_workspace` on a thread and records each progress step in the store, so
any process (another API worker, the web workbench) can follow it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Any

from tierkit.app.customers import Caller
from tierkit.app.grading import grade_workspace
from tierkit.app.schedule import LOCK as GRADING_LOCK
from tierkit.app.schedule import LOCK_TTL as GRADING_TTL
from tierkit.app.serving import ServedWorkspace
from tierkit.errors import ConflictError, DiskFullError, NotFoundError, TierkitError, ValueRefusedError
from tierkit.runs.effect import counts_in_effect
from tierkit.runs.files import load_run, reconcile
from tierkit.store import catalog, locks
from tierkit.store import jobs as job_store

FIRST_AS_OF = dt.date(1900, 1, 1)  # as-of dates a grading may be asked for
LAST_AS_OF = dt.date(2999, 12, 31)
# grading leases this process could not let go (the store's disk was full): released by the next
# start, else the grading lock stayed ten minutes (its TTL) after a 507 and every POST /runs was a 409
_unreleased: list[locks.Lease] = []
# how jobs of this process ended when the store had no room to record it: job id -> (run, error)
_unrecorded: dict[str, tuple[str | None, str | None]] = {}


def _let_go(lease: locks.Lease, quiet: bool = False) -> None:
    try:
        lease.__exit__(None, None, None)
    except DiskFullError:
        _unreleased.append(lease)
        if not quiet:
            raise


def _release_left(served: ServedWorkspace) -> None:
    for lease in list(_unreleased):
        locks.release(served.store, lease.name, lease.holder)  # a full disk still: DiskFullError, 507
        _unreleased.remove(lease)


def runs(served: ServedWorkspace) -> list[dict[str, Any]]:
    """Every run in the catalog, oldest first; `current` marks the published one."""
    reconcile(served.workspace)  # a run a killed grading renamed into place and never recorded
    current = served.current_id()
    return [{**row, "current": row["run_id"] == current} for row in catalog.catalog(served.store)]


def _grade(served: ServedWorkspace, job_id: str, as_of: str | None, publish: bool | None, lease: locks.Lease) -> None:
    def say(text: str) -> None:
        with contextlib.suppress(DiskFullError):  # a step is news: a full store does not stop the grading
            job_store.step(served.store, job_id, text)

    run_id, error = None, None
    try:
        say("starting")
        root, lang = served.workspace.root, served.settings.lang
        run_id = str(grade_workspace(root, as_of=as_of, lang=lang, publish=publish, progress=say)["run_id"])
    except TierkitError as err:
        error = str(err)
    except Exception as err:  # a bug: keep it visible on the job, not only in the server log
        error = f"{type(err).__name__}: {err}"
    try:
        job_store.finish(served.store, job_id, run_id, error)
    except DiskFullError as full:  # kept here and recorded when next asked for (`job`)
        _unrecorded[job_id] = (run_id, error or str(full))
    finally:
        _let_go(lease, quiet=True)  # the next grading may start


def _busy(served: ServedWorkspace) -> str:
    """Who holds the grading lock, in words: a job of the API or workbench names its id."""
    held = locks.held(served.store, GRADING_LOCK) or {}
    holder = str(held.get("holder") or "?")
    since = held.get("acquired_at")
    if holder.startswith("job-"):
        job_id = holder.split()[0]
        return f"a grading is already running: {job_id} (follow it at GET /runs/{job_id}); start again when it is done"
    return f"a grading is already running (the schedule's, held by {holder} since {since}); start again when it is done"


def checked_as_of(as_of: str | None) -> dt.date | None:
    """An as-of date a grading can run on, or a 422 with the reason: a real calendar date
    (2026-02-30 matched the API's pattern and failed later, in the job) from FIRST_AS_OF to
    LAST_AS_OF (year 1 made the windows reach before year 1)."""
    if as_of is None:
        return None
    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError as err:
        raise ValueRefusedError(f"as_of '{as_of}' is not a date (YYYY-MM-DD): {err}") from None
    if not FIRST_AS_OF <= day <= LAST_AS_OF:
        raise ValueRefusedError(f"as_of '{as_of}' must be between {FIRST_AS_OF} and {LAST_AS_OF}")
    return day


def start_grading(
    served: ServedWorkspace, caller: Caller, as_of: str | None, publish: bool | None, detail: str
) -> dict[str, Any]:
    """Grade the workspace on a thread; the job as it stands (poll `job` for its progress).

    One at a time per workspace: the job holds the store's grading lock (the one scheduled
    gradings hold, across workers and hosts; renewed while it runs, lapsing if its process
    dies), so a second request is a 409 naming the job that runs. Eight at once ran before."""
    checked_as_of(as_of)
    _release_left(served)
    job_id = job_store.new_id()
    lease = locks.Lease(served.store, GRADING_LOCK, GRADING_TTL, holder=f"{job_id} {locks.new_holder()}")
    if not lease.__enter__().taken:
        raise ConflictError(_busy(served))
    try:  # holding the lock, no other job runs: one still marked running lost its process
        job_store.interrupt(served.store, "interrupted: the server stopped while it graded", keep=job_id)
        job_store.start(served.store, caller.name, job_id)
        served.audit.record(caller.name, caller.role, "grade", job_id, detail, now=True)
        threading.Thread(target=_grade, args=(served, job_id, as_of, publish, lease), name=job_id, daemon=True).start()
    except BaseException:
        _let_go(lease)
        raise
    return job_store.get(served.store, job_id) or {}


def job(served: ServedWorkspace, job_id: str) -> dict[str, Any]:
    found = job_store.get(served.store, job_id)
    if found is None:
        raise NotFoundError(f"no job '{job_id}'")
    if found["state"] in ("queued", "running") and job_id in _unrecorded:  # it ended with the store full
        run_id, error = _unrecorded[job_id]
        try:
            job_store.finish(served.store, job_id, run_id, error)
            del _unrecorded[job_id]
            return job_store.get(served.store, job_id) or found
        except DiskFullError:
            return {**found, "state": "failed" if error else "done", "run_id": run_id, "error": error}
    return found


def manifest(served: ServedWorkspace, ref: str) -> dict[str, Any]:
    """A run's manifest by id, unique prefix, 'current' or 'previous'; the published run's also
    says how many customers each tier has once people's overrides apply (`in_effect`)."""
    try:
        run = load_run(served.workspace, ref)
    except TierkitError as err:
        raise NotFoundError(str(err)) from err
    if run.run_id != served.current_id():
        return run.manifest
    snapshot = served.snapshot(run.run_id)
    moves = {}
    for customer_id, manual in served.overrides().items():
        row = snapshot.table.find(customer_id)
        if row is not None:
            moves[customer_id] = (str(row["tier"]), manual.tier)
    graded = {str(r["class"]): int(r["customers"]) for r in run.manifest.get("summary", {}).get("tiers", [])}
    counts = counts_in_effect(graded, moves)
    tiers = [
        {"tier": tier, "graded": graded.get(tier, 0), "in_effect": counts.get(tier, 0)}
        for tier in [*graded, *[t for t in counts if t not in graded]]
    ]
    moved = sum(1 for before, after in moves.values() if before != after)
    return {**run.manifest, "in_effect": {"overrides": len(moves), "moved": moved, "tiers": tiers}}
