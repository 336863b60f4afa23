"""A workspace's files with one person's personal data erased (tierkit forget): imported parts
and data files, graded runs, lookup copies, identity-linking files, and any other file in it.

- Imported parts (data/<kind>/*.parquet) holding the person are rewritten through the import
  journal (ingest.journal): the new part and its registry entry, with the part's new sha256
  (`part_sha256`) and `erased_at`, change together or not at all. Data files named in tierkit.yaml
  or put in data/ (data/customers.parquet ...) are rewritten beside themselves and renamed.
- In the customers' rows: name, phone, e-mail, ID number, birth date, address and its parts;
  the file's own columns (attributes) unless a yes/no flag. In the other tables' rows: their own
  columns (a delivery address in an orders export). Ids, dates, amounts, tiers stay.
- Each run's result.parquet: see erasure_runs.
- The sorted lookup copies (.directory.arrow, lookup.arrow, .tiers.arrow) are removed: the server rebuilds them.
- data/identity/review.csv: the person's side of each pair blanked.
- Any other file of the workspace (exports, lists, notes): rows naming the person blanked by
  value, distinctive values replaced (erasure_text).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from tierkit.app.erasure_files import Blank, Person, flushed_replace, names_person, rewrite_parquet
from tierkit.app.erasure_text import read_text, scrub_file, write_text
from tierkit.app.masking import PERSONAL_FIELDS
from tierkit.backends import connect
from tierkit.canonical import TABLES
from tierkit.ingest import journal
from tierkit.ingest.registry import REGISTRY, Registry
from tierkit.runs.files import CURRENT, RESULT
from tierkit.runs.lookup import RUN_CACHES
from tierkit.tables.readers import file_fingerprint, open_mapped
from tierkit.workspace import Workspace

PERSONAL_COLUMNS = frozenset(f for f in PERSONAL_FIELDS if f != "age")  # age: a whole number of years, kept
BOOKKEEPING = ("attributes", "_source", "_row")
LOOKUPS = (".directory.arrow", ".complaints.arrow")
ERASED_IDS = "erased-ids.json"
OWNERS = "owners.parquet"
REVIEW = Path("identity") / "review.csv"
PSEUDONYMOUS = (Path("identity") / "links.parquet", Path("identity") / "decisions.csv")
ARCHIVES = (".tar", ".gz", ".tgz", ".zip", ".bz2", ".xz", ".7z")

Say = Callable[[str], None]


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def blank_for(kind: str, columns: list[str], mapped: dict[str, str] | None = None) -> Blank:
    """What to blank in a `kind` file with these columns (`mapped`: canonical -> its header)."""
    headers = mapped or {c: c for c in columns if c in TABLES[kind].names}
    canonical = set(headers.values())
    own = frozenset(c for c in columns if c not in canonical and c not in BOOKKEEPING)
    personal = frozenset(headers[c] for c in PERSONAL_COLUMNS if c in headers) if kind == "customers" else frozenset()
    json_column = "attributes" if "attributes" in columns else None
    return Blank(ids=(headers.get("customer_id", "customer_id"),), columns=personal, attributes=own, json=json_column)


# --- imported parts and data files -------------------------------------------------------------


def _registry_key(registry: Registry, kind: str, part: Path) -> str | None:
    for key, entry in registry.entries.get(kind, {}).items():
        if Path(str(entry.get("part", ""))).name == part.name:
            return key
    return None


def erase_parts(ws: Workspace, person: Person, say: Say, only: set[Path] | None = None) -> dict[str, int]:
    """The imported parts holding the person (of `only`, if given), each rewritten with its registry
    entry; rows changed per part (its path)."""
    data = ws.data_dir.resolve()
    changed: dict[str, int] = {}
    wanted = {p.resolve() for p in only} if only is not None else None
    for kind in TABLES:
        for part in sorted((data / kind).glob("*.parquet")):
            if wanted is not None and part.resolve() not in wanted:
                continue
            if not names_person(part, person, ("customer_id",)):
                continue
            say(f"erasing from {part.relative_to(data.parent)}")
            blank = blank_for(kind, pq.read_schema(part).names)
            temporary = journal.partial(part)
            outcome = rewrite_parquet(part, temporary, person, blank)
            if not outcome.changed:
                continue
            registry = Registry(data)
            key = _registry_key(registry, kind, part)
            if key is None:  # a part no import recorded (grading reads it all the same)
                flushed_replace(temporary, part)
            else:
                entry = registry.entries[kind][key]
                entry = {**entry, "part_sha256": file_fingerprint(temporary), "erased_at": now_text()}
                journal.commit(data, journal.Change(kind, key, entry, [(str(temporary), str(part))], []))
            changed[str(part)] = outcome.rows
    return changed


def data_files(ws: Workspace) -> dict[Path, str]:
    """The data files that are not imported parts: data/<kind>.parquet or .csv, and those
    tierkit.yaml names (inside the workspace or not) -> their kind."""
    found: dict[Path, str] = {}
    configured = ws.config.get("data") or {}
    for kind in TABLES:
        if isinstance(configured, dict) and configured.get(kind):
            found[(ws.root / str(configured[kind])).resolve()] = kind
        for suffix in (".parquet", ".csv"):
            candidate = ws.data_dir / f"{kind}{suffix}"
            if candidate.is_file():
                found[candidate.resolve()] = kind
    return {p: k for p, k in found.items() if p.is_file()}


def erase_data_files(ws: Workspace, person: Person, say: Say) -> tuple[dict[str, int], list[str]]:
    """Rows changed per file (relative to the workspace), and notes on files left as they are."""
    changed: dict[str, int] = {}
    notes: list[str] = []
    root = ws.root.resolve()
    engine = connect("duckdb")
    for path, kind in data_files(ws).items():
        if not path.is_relative_to(root):
            notes.append(f"{path}: the {kind} file tierkit.yaml names is outside the workspace: not changed")
            continue
        mapped = open_mapped(engine, kind, path)
        headers = {c: h for c, h in mapped.headers.items()}
        blank = blank_for(kind, list(mapped.raw.columns), headers)
        blank = Blank(
            ids=(headers.get("customer_id", "customer_id"),),
            columns=blank.columns,
            attributes=frozenset(mapped.extra) - set(BOOKKEEPING),
            json=blank.json,
        )
        say(f"erasing from {path.relative_to(root)}")
        outcome = scrub_file(path, person, blank)
        if outcome is not None and outcome.changed:
            changed[path.relative_to(root).as_posix()] = outcome.rows
    return changed, notes


def erase_owners(ws: Workspace, person: Person) -> int:
    """data/owners.parquet: a reassignment's reason is free text."""
    path = ws.data_dir / OWNERS
    if not path.is_file():
        return 0
    outcome = scrub_file(path, person, Blank(ids=("customer_id",), columns=frozenset({"reason"})))
    return outcome.rows if outcome is not None else 0


def drop_lookups(ws: Workspace) -> int:
    """The sorted copies of the customers' personal data and complaints: rebuilt on next use."""
    gone = 0
    for name in LOOKUPS:
        path = ws.data_dir / name
        if path.exists():
            path.unlink()
            gone += 1
    return gone


# --- identity linking --------------------------------------------------------------------------


def erase_review(ws: Workspace, person: Person) -> int:
    """data/identity/review.csv: the fields of the person's side of each pair blanked."""
    import csv
    import io

    path = ws.data_dir / REVIEW
    found = read_text(path) if path.is_file() else None
    if found is None:
        return 0
    text, encoding = found
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if not rows:
        return 0
    fields = list(rows[0].keys())
    changed = 0
    for row in rows:
        for side in ("_l", "_r"):
            if (row.get(f"customer_id{side}") or "").strip() not in person.ids:
                continue
            for name in fields:
                if name.endswith(side) and name not in (f"customer_id{side}", f"source{side}") and row[name]:
                    row[name] = ""
                    changed += 1
    if not changed:
        return 0
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\r\n" if "\r\n" in text else "\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue(), encoding)
    return changed


# --- everything else in the workspace -----------------------------------------------------------


def _handled(ws: Workspace, store_files: set[Path]) -> set[Path]:
    data = ws.data_dir.resolve()
    skip = {
        *store_files,
        (ws.root / ".tierkit.lock").resolve(),
        data / REGISTRY,
        data / journal.JOURNAL,
        data / ERASED_IDS,
        data / OWNERS,
        data / REVIEW,
        *(data / p for p in PSEUDONYMOUS),
        *(data / n for n in LOOKUPS),
        (ws.runs_dir / CURRENT).resolve(),
        *data_files(ws),
    }
    return skip


def holds(path: Path, person: Person, block: int = 1 << 22) -> bool:
    """Does the file's text hold a distinctive value or an id (read in blocks)?"""
    keep = max((len(v.encode("utf-16-le")) for v in (*person.distinctive, *person.ids)), default=0)
    tail = b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(block)
            if not chunk:
                return False
            if person.in_bytes(tail + chunk):
                return True
            tail = chunk[-keep:] if keep else b""


def sweep(
    ws: Workspace, person: Person, store_files: set[Path], say: Say
) -> tuple[dict[str, int], list[str], set[Path]]:
    """Every other file of the workspace: (rows changed per file, notes, files changed)."""
    root = ws.root.resolve()
    skip = _handled(ws, store_files)
    changed: dict[str, int] = {}
    notes: list[str] = []
    touched: set[Path] = set()
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        subfolders[:] = sorted(s for s in subfolders if not (here == root / "runs" and s.startswith(".staging-")))
        for name in sorted(files):
            path = here / name
            shown = path.relative_to(root).as_posix()
            if path in skip or name.endswith((journal.PARTIAL, ".erasing")) or path.is_symlink():
                continue
            if here.parent == root / "data" and here.name in TABLES and name.endswith(".parquet"):
                continue  # imported parts: erase_parts
            if here.parent == root / "runs" and name in (RESULT, *RUN_CACHES):
                continue  # erase_runs
            suffix = path.suffix.lower()
            if suffix in ARCHIVES:
                notes.append(f"{shown}: an archive (a backup?) may hold the person; tierkit does not rewrite archives")
                continue
            if suffix == ".arrow":
                continue
            if suffix not in (".parquet", ".pq", ".xlsx", ".xlsm") and not holds(path, person):
                continue
            outcome = scrub_file(path, person)
            if outcome is None:
                if holds(path, person):
                    notes.append(f"{shown}: a file tierkit cannot rewrite holds the person's data: not changed")
                continue
            if outcome.changed:
                say(f"erased from {shown}")
                changed[shown] = outcome.rows
                touched.add(path)
    return changed, notes, touched


def store_files(ws: Workspace, url: str) -> set[Path]:
    """The SQLite store's files (database, -wal, -shm, -journal) when it is one."""
    if not url.startswith("sqlite:///"):
        return set()
    path = Path(url.removeprefix("sqlite:///")).resolve()
    return {path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))}
