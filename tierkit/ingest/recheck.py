"""Rows a file gave up as duplicates come back when the file that held them lets them go.

An id is imported once: the file imported first keeps it, and a later file's row with the same
id is set aside (a duplicate, or a reject when its values differ). When the first file is replaced by a version without
that id, the later file's row is the only copy left; without a second look it would be lost.
So after an import that lets ids go (`released`), every file of that kind imported before it
that set rows aside is imported again, first-imported first, with the settings it was imported
with, against the new state: the earliest file with a row for a freed id gets it, as if the id
had never been held. One pass suffices: a file imported again can only gain rows, so no third
file loses one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tierkit.backends import Backend
from tierkit.errors import TierkitError
from tierkit.ingest.imports import import_file
from tierkit.ingest.quarantine import ImportRules
from tierkit.ingest.registry import Registry
from tierkit.tables.readers import file_fingerprint


def recheck(
    engine: Backend,
    data_dir: Path,
    kind: str,
    say: Callable[[str], None] | None = None,
    skip: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Import again, in the order they were imported, the files of `kind` that set rows aside
    before the last import that let ids go (and were not looked at again since). `skip`: sources
    that just failed with the settings given now. One
    entry per file looked at: status `rechecked` with its new counts, or `not rechecked` with
    the reason (gone, changed since, recorded by an older tierkit, or over its threshold now).
    A file keeps its place in the order."""
    registry = Registry(data_dir)
    release = registry.last_release(kind)
    waiting = [
        (key, entry)
        for key, entry in registry.entries.get(kind, {}).items()
        if (entry.get("duplicates") or entry.get("rejected"))
        and entry.get("seq", 0) < release
        and entry.get("checked", 0) < release
        and key not in skip
    ]
    results: list[dict[str, Any]] = []
    # Import order: `seq`, and for entries written before it existed, when they were imported.
    for key, entry in sorted(
        waiting, key=lambda item: (item[1].get("seq", 0), item[1].get("imported_at", ""), item[0])
    ):
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
        after = Registry(data_dir)  # its place in the order, and that it is current as of this release
        after.put(kind, key, {**(after.get(kind, key) or {}), "seq": entry.get("seq", 0), "checked": release})
        results.append(result.as_dict() | {"status": "rechecked"})
    return results


def _cannot(path: Path, entry: dict[str, Any], settings: dict[str, Any] | None) -> str | None:
    """Why a file cannot be imported again as it was, or None."""
    if settings is None:
        return f"{path}: imported by an older tierkit that did not keep its settings; import it again"
    if not path.is_file():
        return (
            f"{path}: no longer there; rows it set aside as repeats of ids another file has let go are not "
            f"restored until you import it again from where it is now"
        )
    if file_fingerprint(path) != entry.get("sha256"):
        return f"{path}: changed since it was imported; import it again to take the new version"
    return None
