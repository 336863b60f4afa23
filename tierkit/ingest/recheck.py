"""Rows a file gave up as duplicates come back when the file that held them lets them go.

An id is imported once: the file imported first keeps it, and a later file's row with the same
id is set aside (a duplicate, or a reject when its values differ). When the first file is replaced by a version without
that id, the later file's row is the only copy left; without a second look it would be lost.
So after a replacement, every other file of that kind that set rows aside is imported again,
with the settings it was imported with, against the new state. One pass suffices: a file
imported again can only gain rows, so no third file loses one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tierkit.engine.backend import Engine
from tierkit.errors import TierkitError
from tierkit.ingest.imports import Registry, import_file
from tierkit.ingest.quarantine import ImportRules
from tierkit.tables.readers import file_fingerprint


def recheck(
    engine: Engine, data_dir: Path, kind: str, replaced: set[str], say: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Import again the files of `kind` that set rows aside, after the sources in `replaced`
    (absolute paths) were replaced. One entry per file looked at: status `rechecked` with its new
    counts, or `not rechecked` with the reason (the file is gone or changed since)."""
    if not replaced:
        return []
    entries = Registry(data_dir).entries.get(kind, {})
    results: list[dict[str, Any]] = []
    for key, entry in sorted(entries.items()):
        if key in replaced or not (entry.get("duplicates") or entry.get("rejected")):
            continue
        path, settings = Path(key), entry.get("settings")
        reason = _cannot(path, entry, settings)
        if reason:
            results.append({"kind": kind, "file": key, "status": "not rechecked", "error": reason})
            continue
        assert settings is not None
        rules = ImportRules(
            today=dt.date.fromisoformat(settings["today"]),
            refunds=settings["refunds"],
            threshold=settings["threshold"],
            to_minutes=settings["minutes"],
        )
        try:
            maps, sheet, defaults = settings["maps"], settings["sheet"], settings["defaults"]
            result = import_file(engine, data_dir, kind, path, rules, maps, sheet, say, defaults, force=True)
        except TierkitError as err:
            results.append({"kind": kind, "file": key, "status": "not rechecked", "error": str(err)})
            continue
        results.append(result.as_dict() | {"status": "rechecked"})
    return results


def _cannot(path: Path, entry: dict[str, Any], settings: dict[str, Any] | None) -> str | None:
    """Why a file cannot be imported again as it was, or None."""
    if settings is None:
        return f"{path}: imported by an older tierkit that did not keep its settings; import it again"
    if not path.is_file():
        return f"{path}: no longer there; rows it set aside as duplicates of a replaced file are not restored"
    if file_fingerprint(path) != entry.get("sha256"):
        return f"{path}: changed since it was imported; import it again to take the new version"
    return None
