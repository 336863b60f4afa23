"""Immutable runs in a workspace, published atomically.

A run is written whole into `runs/.staging-ID/` (result.parquet, policy.yaml, manifest.json),
renamed to `runs/ID/` and entered in the store's run catalog; only then does the store's
current pointer switch to it, in one transaction, so that every process (the CLI, a running
`tierkit serve`) sees the old run or the new one. `runs/CURRENT`, a one-line file replaced by an
atomic rename after the store commits, mirrors the pointer for tools that read files. A crash at
any point leaves the previous current run as it was and no half run under a run name; staging
folders left by a crash are never read, and the next writer removes them (`clean_staging`); a run
renamed into place whose process died before the catalog knew it is entered when the runs are
next listed or written (`reconcile`), and `runs/CURRENT` is brought back in line with the store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierkit.errors import DiskFullError, WorkspaceError, did_you_mean, room_for
from tierkit.version import __version__
from tierkit.workspace import Workspace

if TYPE_CHECKING:  # reading a run (a card) loads neither the engine nor Ibis; writing one does
    from tierkit.engine.grade import Grading

CURRENT = "CURRENT"
RESULT = "result.parquet"
MANIFEST = "manifest.json"
POLICY = "policy.json"  # the validated policy, segment maps resolved: what the card reads


@dataclass(frozen=True)
class Run:
    run_id: str
    path: Path
    manifest: dict[str, Any]

    @property
    def result(self) -> Path:
        return self.path / RESULT


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def manifest_for(grading: Grading, run_id: str, summary: dict[str, Any], timings: dict[str, float]) -> dict[str, Any]:
    inputs: dict[str, dict[str, Any]] = {}
    for name in ("orders", "customers", "interactions", "contacts"):
        src = grading.inputs.table(name)
        if src is not None:
            inputs[name] = {
                "path": str(src.path),
                "sha256": src.fingerprint(),
                "rows": src.rows,
                "duplicates": src.duplicates,
            }
            # complaints taken in tierkit, beside the file (a URI's file is Spark's to find: there)
            if src.added is not None and (isinstance(src.path, str) or src.path.exists()):
                inputs[name]["added"] = {"rows": src.added[0], "sha256": src.added[1]}
    return {
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "tierkit": __version__,
        "as_of": grading.as_of.isoformat(),
        "engine": grading.engine.name,
        "policy": {"name": grading.loaded.policy.name, "hash": grading.loaded.hash, "source": grading.loaded.source},
        "inputs": inputs,
        "rows": summary["customers"],
        "tiers": grading.tier_names,
        "tags": grading.tag_names,
        "value_metric": grading.value_metric,
        "warnings": grading.warnings,
        "models": grading.models,
        **({"stability": grading.stability} if grading.stability is not None else {}),  # the run it continued
        "timings": timings,
        "summary": summary,
    }


def write_run(ws: Workspace, grading: Grading, publish: bool = True) -> Run:
    from tierkit.runs.result import write_result

    run_id = new_run_id()
    runs = ws.runs_dir
    runs.mkdir(parents=True, exist_ok=True)
    staging = runs / f".staging-{run_id}"
    try:
        staging.mkdir()
        with room_for(f"the new run in {runs}"):
            summary = write_result(grading, staging / RESULT)
            manifest = _write_rest(grading, staging, run_id, summary)
        final = runs / run_id
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    from tierkit.store import catalog  # the store (SQLAlchemy) loads when a run is kept: file mode never does

    try:
        if publish:
            publish_run(ws, run_id, manifest)  # entered and published in one transaction
        else:
            catalog.record_run(store_of(ws), manifest)
    except DiskFullError:  # the store or runs/CURRENT had no room: nothing refers to the run, so it goes
        shutil.rmtree(final, ignore_errors=True)
        raise
    return Run(run_id, final, manifest)


def _write_rest(grading: Grading, staging: Path, run_id: str, summary: dict[str, Any]) -> dict[str, Any]:
    """The run's policy (as written and resolved) and its manifest, last, beside its result."""
    from tierkit.tables.readers import file_fingerprint

    (staging / "policy.yaml").write_text(grading.loaded.text, "utf-8")
    resolved = grading.loaded.policy.model_dump(mode="json", by_alias=True)
    (staging / POLICY).write_text(json.dumps(resolved, ensure_ascii=False, indent=2), "utf-8")
    manifest = manifest_for(grading, run_id, summary, dict(grading.timings))
    # what `tierkit verify` checks the run's files against (the manifest itself is last)
    manifest["files"] = {f.name: file_fingerprint(f) for f in sorted(staging.iterdir()) if f.is_file()}
    (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
    return manifest


def store_of(ws: Workspace) -> Any:
    """The workspace's operational store (SQLAlchemy engine), migrated."""
    from tierkit.store.database import database_url, store_engine

    configured = ws.config.get("database")
    return store_engine(database_url(ws.root, str(configured) if configured else None))


def publish_run(ws: Workspace, run_id: str, manifest: dict[str, Any] | None = None) -> None:
    """Switch the store's current pointer to a finished run, then mirror it in runs/CURRENT.

    The mirror's new text is written before the store commits and renamed after: a disk with no
    room for it fails the publish before anything changed, never after the store switched."""
    from tierkit.runs.output import atomic_path
    from tierkit.store import catalog

    path = ws.runs_dir / run_id / MANIFEST
    if not path.exists():
        raise WorkspaceError(f"run '{run_id}' does not exist in {ws.runs_dir}")
    engine = store_of(ws)
    with room_for(f"{ws.runs_dir / CURRENT}"), atomic_path(ws.runs_dir / CURRENT) as tmp:
        tmp.write_text(run_id + "\n", "utf-8")
        # entered in the catalog (a run written before the store) and published in one transaction
        catalog.publish(engine, run_id, manifest or json.loads(path.read_text("utf-8")))


def clean_staging(ws: Workspace) -> list[str]:
    """Remove the staging folders gradings stopped by a crash left (`runs/.staging-ID`); their
    names. Only a writer holding the workspace lock may call it (app.writing): then no grading
    is running, so every staging folder is a leftover."""
    if not ws.runs_dir.is_dir():
        return []
    gone = []
    for folder in sorted(ws.runs_dir.glob(".staging-*")):
        shutil.rmtree(folder, ignore_errors=True)
        gone.append(folder.name)
    return gone


def reconcile(ws: Workspace, mirror: bool = False) -> list[str]:
    """Enter in the store's catalog the complete run folders it lacks (a grading killed between
    renaming its run into place and recording it); their ids. The run is kept, not published.
    `mirror` (a writer holding the workspace lock): also bring `runs/CURRENT` in line with the
    store's pointer, when a crash came between the store's switch and the file's."""
    if not ws.runs_dir.is_dir():
        return []
    done = [f for f in ws.runs_dir.iterdir() if not f.name.startswith(".") and (f / MANIFEST).is_file()]
    if not done:
        return []
    from tierkit.store import catalog

    engine = store_of(ws)
    known = catalog.run_ids(engine)
    added = []
    for folder in sorted(done):
        if folder.name not in known:
            catalog.record_run(engine, json.loads((folder / MANIFEST).read_text("utf-8")))
            added.append(folder.name)
    pointer, current = ws.runs_dir / CURRENT, catalog.current(engine)
    if mirror and current is not None and (not pointer.exists() or pointer.read_text("utf-8").strip() != current):
        from tierkit.runs.output import atomic_path

        with atomic_path(pointer) as tmp:
            tmp.write_text(current + "\n", "utf-8")
    return added


def current_run_id(ws: Workspace) -> str | None:
    """The published run: the store's pointer; a workspace from before the store has only the file."""
    from tierkit.store import catalog

    found = catalog.current(store_of(ws))
    if found is None:
        pointer = ws.runs_dir / CURRENT
        found = pointer.read_text("utf-8").strip() if pointer.exists() else None
    return found


Known = dict[str, tuple[tuple[int, int, int], Run]]  # run folder -> its manifest's stat, the run


def list_runs(ws: Workspace, known: Known | None = None) -> list[Run]:
    """The workspace's runs, oldest first. `known`: the runs a caller read before, by folder; a
    run whose manifest is unchanged on disk (inode, size, mtime) is taken from it, not parsed
    again. Why: the server lists the runs every `pointer_ttl` for cards' tier histories, and a
    workspace graded daily holds hundreds (365 manifests parsed: 25 ms a listing); the runs
    handed out are then shared, read-only."""
    if not ws.runs_dir.exists():
        return []
    runs = []
    for folder in sorted(ws.runs_dir.iterdir()):
        if folder.name.startswith("."):
            continue
        try:
            stat = (folder / MANIFEST).stat()
        except (FileNotFoundError, NotADirectoryError):
            continue
        signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        seen = known.get(folder.name) if known is not None else None
        if seen is not None and seen[0] == signature:
            runs.append(seen[1])
            continue
        try:
            run = Run(folder.name, folder, json.loads((folder / MANIFEST).read_text("utf-8")))
        except FileNotFoundError:  # removed since (tierkit forget, a cleanup)
            continue
        runs.append(run)
        if known is not None:
            known[folder.name] = (signature, run)
    if known is not None:
        for gone in set(known) - {run.run_id for run in runs}:
            known.pop(gone, None)
    # oldest first: two runs in one second have ids that do not sort by time
    return sorted(runs, key=lambda run: (str(run.manifest.get("created_at", "")), run.run_id))


def load_run(ws: Workspace, ref: str | None = None) -> Run:
    """A run by id, unique id prefix, 'current' (default) or 'previous': the run before the current
    one in time, i.e. the latest with an earlier as-of date (or the same one, graded before)."""
    runs = list_runs(ws)
    if not runs:
        raise WorkspaceError(f"{ws.root}: no runs yet; run 'tierkit grade' first")
    current = current_run_id(ws)
    if ref in (None, "current"):
        if current is None:
            raise WorkspaceError(f"{ws.root}: no run is published yet")
        ref = current
    if ref == "previous":

        def when(run: Run) -> tuple[str, str]:
            return (str(run.manifest.get("as_of", "")), str(run.manifest.get("created_at", "")))

        now = next((when(r) for r in runs if r.run_id == current), None)
        earlier = [r for r in runs if now is None or when(r) < now]
        if not earlier:
            raise WorkspaceError("there is no run before the current one (by as-of date)")
        return max(earlier, key=when)
    matches = [r for r in runs if r.run_id == ref] or [r for r in runs if r.run_id.startswith(str(ref))]
    if len(matches) != 1:
        hint = did_you_mean(str(ref), [r.run_id for r in runs])
        raise WorkspaceError(f"no single run matches '{ref}'{hint}")
    return matches[0]
