"""`tierkit verify`: every run and imported part against its checksums, the catalog, the pointer.

Read-only; each problem is one line, `where: what`:

- every run folder: manifest.json present and readable, naming its folder; result.parquet read
  whole, with the rows the manifest says; each file the manifest's `files:` lists, with that
  sha256 (runs written before manifests recorded them are read, not hashed);
- every import data/imports.json records: its part present, read whole, with the rows the entry
  says were imported, its rejects file present (and the part's sha256 where an entry records
  one as `part_sha256`). imports.json records the sha256 of the *source* file, not of the part,
  so a part's bytes are checked against the newest run that graded the folder: its manifest
  keeps the fingerprint of data/<kind>/, which must still hold when no import of that kind came
  after the run;
- a part in data/<kind>/ that imports.json does not name (grading reads it all the same), and an
  import journal left behind;
- the store's run catalog against the run folders, both ways; the current pointer names a
  complete run, and runs/CURRENT says the same; SQLite's `PRAGMA quick_check`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tierkit.app.progress import Progress, silent
from tierkit.canonical import TABLES
from tierkit.ingest.journal import JOURNAL
from tierkit.ingest.registry import REGISTRY
from tierkit.runs.files import CURRENT, MANIFEST, RESULT, store_of
from tierkit.store import catalog
from tierkit.tables.readers import file_fingerprint
from tierkit.workspace import Workspace


@dataclass(frozen=True)
class Problem:
    where: str
    problem: str

    def line(self) -> str:
        return f"{self.where}: {self.problem}"


def read_whole(path: Path) -> tuple[int | None, str | None]:
    """(rows, None) when every row group of the Parquet file decodes, else (None, why)."""
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path, page_checksum_verification=True)
        for group in range(handle.num_row_groups):
            handle.read_row_group(group)
        return handle.metadata.num_rows, None
    except Exception as exc:  # pyarrow raises several types; the file is the cause
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return None, f"unreadable ({first[:200]})"


def _in_data(ws: Workspace, value: Any) -> Path | None:
    """A path imports.json recorded (absolute, maybe of the folder the workspace was in before a
    restore or a move), as it is in this workspace: the part after its last `data` folder."""
    if not isinstance(value, str) or not value:
        return None
    parts = Path(value).parts
    if "data" not in parts:
        return Path(value)
    last = len(parts) - 1 - parts[::-1].index("data")
    return ws.data_dir.joinpath(*parts[last + 1 :])


def _shown(ws: Workspace, path: Path) -> str:
    return path.relative_to(ws.root).as_posix() if path.is_relative_to(ws.root) else str(path)


def _check_runs(ws: Workspace, found: list[Problem]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The runs' manifests by id, and the complete run folders (those with a manifest)."""
    manifests: dict[str, dict[str, Any]] = {}
    complete: set[str] = set()
    folders = sorted(ws.runs_dir.iterdir()) if ws.runs_dir.is_dir() else []
    for folder in folders:
        if not folder.is_dir() or folder.name.startswith("."):  # staging folders are never runs
            continue
        where = f"runs/{folder.name}"
        if not (folder / MANIFEST).is_file():
            found.append(Problem(where, "no manifest.json: not a complete run"))
            continue
        complete.add(folder.name)
        try:
            manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
        except (ValueError, UnicodeDecodeError, OSError):
            manifest = None
        if not isinstance(manifest, dict):
            found.append(Problem(f"{where}/{MANIFEST}", "not a readable run manifest"))
            continue
        manifests[folder.name] = manifest
        if manifest.get("run_id") != folder.name:
            found.append(Problem(f"{where}/{MANIFEST}", f"names run {manifest.get('run_id')!r}, not its folder"))
        differ: set[str] = set()
        for name, sha in sorted((manifest.get("files") or {}).items()):
            if "/" in name or name in (".", ".."):
                found.append(Problem(f"{where}/{MANIFEST}", f"lists '{name}', not a file of the run"))
            elif not (folder / name).is_file():
                found.append(Problem(f"{where}/{name}", "missing (the manifest lists it)"))
                differ.add(name)
            elif file_fingerprint(folder / name) != sha:
                found.append(
                    Problem(f"{where}/{name}", "its sha256 differs from the manifest's (changed or corrupted)")
                )
                differ.add(name)
        if RESULT in differ:  # said already
            continue
        if not (folder / RESULT).is_file():
            found.append(Problem(f"{where}/{RESULT}", "missing"))
            continue
        rows, error = read_whole(folder / RESULT)
        if error:
            found.append(Problem(f"{where}/{RESULT}", error))
        elif isinstance(manifest.get("rows"), int) and rows != manifest["rows"]:
            found.append(Problem(f"{where}/{RESULT}", f"{rows} rows, the manifest says {manifest['rows']}"))
    return manifests, complete


def _check_parts(ws: Workspace, runs: dict[str, dict[str, Any]], found: list[Problem]) -> int:
    """The imported parts against data/imports.json; returns how many it records."""
    data = ws.data_dir
    if (data / JOURNAL).exists():
        found.append(
            Problem(f"data/{JOURNAL}", "an import stopped after its commit: the next `tierkit import` finishes it")
        )
    if not (data / REGISTRY).is_file():
        return 0
    try:
        entries = json.loads((data / REGISTRY).read_text("utf-8"))
    except (ValueError, UnicodeDecodeError):
        found.append(Problem(f"data/{REGISTRY}", "not readable JSON"))
        return 0
    named: set[Path] = set()
    for kind, files in sorted(entries.items()):
        for source, entry in sorted(files.items()):
            part = _in_data(ws, entry.get("part"))
            if part is None:
                found.append(Problem(f"data/{REGISTRY}", f"{kind} from {source}: no part recorded"))
                continue
            named.add(part)
            where = _shown(ws, part)
            if not part.is_file():
                found.append(Problem(where, f"missing (imports.json records it for {source})"))
                continue
            rows, error = read_whole(part)
            if error:
                found.append(Problem(where, error))
            elif isinstance(entry.get("imported"), int) and rows != entry["imported"]:
                found.append(Problem(where, f"{rows} rows, imports.json says {entry['imported']} were imported"))
            if entry.get("part_sha256") and file_fingerprint(part) != entry["part_sha256"]:
                found.append(Problem(where, "its sha256 differs from imports.json's (changed or corrupted)"))
            rejects = _in_data(ws, entry.get("rejects_file"))
            if rejects is not None and not rejects.is_file():
                found.append(Problem(_shown(ws, rejects), "missing (imports.json records it)"))
    for kind in TABLES:
        for part in sorted((data / kind).glob("*.parquet")):
            if part not in named:
                found.append(Problem(_shown(ws, part), "a part imports.json does not name (grading reads it)"))
    _check_graded_bytes(ws, entries, runs, found)
    return len(named)


def _instant(text: Any) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _check_graded_bytes(
    ws: Workspace, entries: dict[str, Any], runs: dict[str, dict[str, Any]], found: list[Problem]
) -> None:
    """Each kind's parts against the newest run that graded them, when no import came after it."""
    for kind, files in sorted(entries.items()):
        folder = ws.data_dir / kind
        # an erasure (tierkit forget) rewrote the part after its import, as an import would have
        imported = [_instant(e.get("erased_at") or e.get("imported_at")) for e in files.values()]
        if not folder.is_dir() or not imported or None in imported:
            continue
        graded = []
        for run_id, manifest in runs.items():
            source = (manifest.get("inputs") or {}).get(kind) or {}
            created = _instant(manifest.get("created_at"))
            if Path(str(source.get("path", ""))).parts[-2:] == ("data", kind) and created and source.get("sha256"):
                graded.append((created, run_id, str(source["sha256"])))
        if not graded:
            continue
        created, run_id, sha = max(graded)
        latest = max(i for i in imported if i is not None)
        if created < latest + dt.timedelta(seconds=1):  # imported_at is kept to the second
            continue
        if file_fingerprint(folder) != sha:
            found.append(
                Problem(
                    f"data/{kind}",
                    f"its parts are not the bytes run {run_id} graded, and no import since says why "
                    "(a part was changed or is corrupted)",
                )
            )


def _check_store(ws: Workspace, complete: set[str], found: list[Problem]) -> None:
    engine = store_of(ws)
    if engine.dialect.name == "sqlite":
        with engine.connect() as con:
            said = [str(r) for r in con.exec_driver_sql("PRAGMA quick_check").scalars()]
        if said != ["ok"]:
            found.append(Problem(str(engine.url.database), "PRAGMA quick_check: " + "; ".join(said[:3])))
    catalogued = {str(row["run_id"]) for row in catalog.catalog(engine)}
    for run_id in sorted(catalogued - complete):
        found.append(Problem(f"runs/{run_id}", "in the store's catalog, but there is no complete run folder"))
    for run_id in sorted(complete - catalogued):
        found.append(Problem(f"runs/{run_id}", "a complete run that the store's catalog does not list"))
    pointer = catalog.current(engine)
    mirror_file = ws.runs_dir / CURRENT
    mirror = mirror_file.read_text("utf-8").strip() if mirror_file.is_file() else None
    if pointer is not None:
        if pointer not in complete:
            found.append(Problem("current run", f"the store's pointer names {pointer}, which has no complete folder"))
        if mirror != pointer:
            mirrored = f"says {mirror}" if mirror else "is missing"
            found.append(Problem(f"runs/{CURRENT}", f"{mirrored}; the store's current run is {pointer}"))
    elif mirror and mirror not in complete:
        found.append(Problem(f"runs/{CURRENT}", f"names {mirror}, which has no complete folder"))


def verify(workspace: Path | None, progress: Progress = silent) -> dict[str, Any]:
    """Check the workspace; returns what was checked and the problems found (none: all is well)."""
    given = Workspace.open(workspace)
    ws = Workspace(given.root.resolve(), given.config)
    found: list[Problem] = []
    progress("checking the runs")
    runs, complete = _check_runs(ws, found)
    progress("checking the imported parts")
    parts = _check_parts(ws, runs, found)
    progress("checking the store's catalog and current run")
    _check_store(ws, complete, found)
    return {
        "workspace": str(given.root),
        "runs": len(complete),
        "parts": parts,
        "problems": [asdict(p) | {"line": p.line()} for p in found],
    }
