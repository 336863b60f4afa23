"""Import as a use case: source files into a workspace, with maps checked before any work."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tierkit.app.progress import Progress, silent
from tierkit.backends import connect
from tierkit.errors import InputError, TierkitError
from tierkit.ingest.imports import import_file, source_key
from tierkit.ingest.quarantine import ImportRules
from tierkit.ingest.recheck import recheck
from tierkit.workspace import Workspace


def import_files(
    workspace: Path | None,
    kind: str,
    files: list[Path],
    maps: dict[str, str] | None = None,
    sheet: str | None = None,
    threshold: float = 0.01,
    refunds: bool | None = None,
    today: str | None = None,
    progress: Progress = silent,
) -> dict[str, Any]:
    """Import files of one kind into the workspace, each whole or not at all (a failed file is
    listed, the others go on); ids one lets go are looked for again in the files before it.
    `progress` hears three steps per file."""
    maps = maps or {}
    ws = Workspace.open(workspace)
    if not 0 <= threshold <= 1:
        raise InputError(f"--threshold {threshold}: give a share between 0 and 1, e.g. 0.01 for 1%")
    try:
        day = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError as err:
        raise InputError(f"--today: '{today}' is not a date like 2024-06-30") from err
    inputs = ws.policy().policy.inputs  # the policy's `inputs:` section; flags win over it
    allow_refunds = refunds if refunds is not None else inputs.refunds
    rules = ImportRules(today=day, refunds=allow_refunds, threshold=threshold, to_minutes=inputs.offset)
    defaults = inputs.columns.get(kind, {})  # the policy's maps, for the files that have those columns
    engine = connect("duckdb")
    given: dict[str, Path] = {}
    for path in files:  # a file given twice is imported once
        given.setdefault(source_key(path), path)
    keys = list(given)
    results: dict[str, dict[str, Any]] = {}  # the files given, each in its final state
    others: dict[str, dict[str, Any]] = {}  # files not given that a recheck looked at
    say = progress
    for key in keys:
        try:
            results[key] = import_file(
                engine, ws.data_dir, kind, given[key], rules, maps, sheet, say, defaults
            ).as_dict()
        except TierkitError as err:  # each file is imported whole or not at all; the others go on
            results[key] = {"kind": kind, "file": key, "status": "failed", "error": str(err)}
        others.pop(key, None)  # looked at again before its turn: what counts is its final state
        if not results[key].get("released"):
            continue
        # Ids let go: files imported before may hold their only other copies. Look now, in
        # import order, before files given after this one are imported; but not at a file that
        # just failed with the settings given now (its recorded settings are not what you asked).
        failed = {k for k, r in results.items() if r["status"] == "failed"}
        for looked in recheck(engine, ws.data_dir, kind, say, frozenset(failed)):
            target = results if looked["file"] in results and looked["status"] == "rechecked" else others
            target[looked["file"]] = looked
    return summarize(kind, list(results.values()), list(others.values()))


def summarize(kind: str, results: list[dict[str, Any]], others: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Totals over the files given (`results`, each in its final state); `rejects_file` is the one
    file of rejects, the folder when several files had rejects, or None. `others` (files not given
    that `recheck` looked at) are listed after them, not totalled."""
    done = [r for r in results if r["status"] not in ("failed", "not rechecked")]
    totals = {k: sum(r[k] for r in done) for k in ("read", "imported", "rejected", "duplicates", "refunds")}
    with_rejects = [r["rejects_file"] for r in done if r["rejects_file"]]
    rejects: str | None = None
    if len(with_rejects) == 1:
        rejects = with_rejects[0]
    elif with_rejects:
        rejects = str(Path(with_rejects[0]).parent)
    failed = [r for r in results if r["status"] == "failed"]
    return {"kind": kind, **totals, "rejects_file": rejects, "failed": len(failed), "files": results + (others or [])}
