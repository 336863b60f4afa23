"""data/imports.journal.json: an import's changes made as one step, whatever stops the process.

An import changes up to three things: its part (data/<kind>/<name>.parquet), its rejects file
and its entry in data/imports.json. Renaming the part and then writing the registry is two steps,
and a process killed between them left a registry that no longer described the part: the old
file imported again was `unchanged` and kept the new rows (issue 15). So, as databases do with a
write-ahead log:

1. every new file is written under a temporary name (`*.partial`) and flushed to disk;
2. the journal, listing the renames to make, the stale files to remove and the registry entry
   to record, is written and renamed into place: the commit point;
3. the renames, removals and the entry are applied, and the journal removed.

Killed before 2, only `*.partial` files are left: `recover` removes them and the workspace is as
before the import. Killed after 2, `recover` finds the journal and finishes 3 (roll forward).
Each step of 3 can be done twice, so a crash during recovery is recovered the same way.
`recover` runs before every import and on every writing command (under the workspace lock,
see tierkit.app.writing), never while another import of the workspace is running.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tierkit.canonical import TABLES
from tierkit.ingest.registry import Registry

JOURNAL = "imports.journal.json"
PARTIAL = ".partial"  # files written and not yet committed


@dataclass
class Change:
    """What one import changes: renames (temporary -> final), files to remove, the entry."""

    kind: str
    key: str
    entry: dict[str, Any]
    moves: list[tuple[str, str]] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)


def partial(path: Path) -> Path:
    """Where a file is written before the commit: beside it, never read by anything."""
    return path.with_name(path.name + PARTIAL)


def flushed(path: Path) -> None:
    """The file's bytes on disk, not only in the page cache: a commit must not point at a file
    a power cut could leave empty."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _flush_folder(folder: Path) -> None:
    """A rename is durable once its folder is flushed (where the system allows it)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass  # some file systems cannot flush a folder; the rename itself is still atomic
    finally:
        os.close(handle)


def commit(data_dir: Path, change: Change) -> None:
    """Make `change` happen as one step: the journal first, then the change."""
    journal = data_dir / JOURNAL
    staging = partial(journal)
    for temporary, _ in change.moves:
        flushed(Path(temporary))
    # the registry's new text too, before the commit point: a full disk fails here (see Registry.prepare)
    flushed(Registry(data_dir).prepare(change.kind, change.key, change.entry))
    with staging.open("w", encoding="utf-8") as out:
        json.dump(asdict(change), out, ensure_ascii=False)
        out.flush()
        os.fsync(out.fileno())
    os.replace(staging, journal)  # the commit point
    _flush_folder(data_dir)
    _apply(data_dir, change)


def _apply(data_dir: Path, change: Change) -> None:
    for temporary, final in change.moves:
        if Path(temporary).exists():  # else moved before a crash
            os.replace(temporary, final)
    for stale in change.removes:
        Path(stale).unlink(missing_ok=True)
    Registry(data_dir).put(change.kind, change.key, change.entry)
    for _, final in change.moves:
        _flush_folder(Path(final).parent)
    (data_dir / JOURNAL).unlink()


def recover(data_dir: Path) -> bool:
    """Finish an import that committed and was stopped, then remove what imports stopped before
    their commit left behind. True when a journal was found and finished."""
    journal = data_dir / JOURNAL
    found = journal.exists()
    if found:
        raw = json.loads(journal.read_text("utf-8"))
        raw["moves"] = [tuple(move) for move in raw.get("moves", [])]
        _apply(data_dir, Change(**raw))
    discard(data_dir)
    return found


def discard(data_dir: Path) -> None:
    """Remove the files of imports that did not commit (`*.partial`): after a crash, or at once
    when an import fails before its commit (a full disk). Only under the workspace lock."""
    for folder in (data_dir, *(data_dir / kind for kind in TABLES), *(data_dir / "rejects" / kind for kind in TABLES)):
        for leftover in folder.glob(f"*{PARTIAL}"):
            if leftover.is_file():
                leftover.unlink()
