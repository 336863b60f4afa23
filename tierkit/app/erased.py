"""data/erased-ids.json: who was erased (tierkit forget), as salted hashes of their record ids,
so that a later import of an old file does not bring them back unsaid.

The file holds a random salt and sha256(salt + id) per record id: no personal data, and no list
of ids a reader could take away. After every import (and the rechecks it starts), the parts
written are looked at for erased ids; their rows are kept (the orders still count in grading,
as `forget` leaves them) with their personal fields blanked again, and the import says how many.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tierkit.app.erasure_data import ERASED_IDS, erase_parts, now_text
from tierkit.app.erasure_files import Person, flushed_replace
from tierkit.workspace import Workspace

ABOUT = (
    "Record ids erased by `tierkit forget`, as sha256(salt + id): an import blanks their personal "
    "fields again. No personal data; do not edit."
)


def digest(salt: str, customer_id: str) -> str:
    return hashlib.sha256((salt + customer_id).encode("utf-8")).hexdigest()


def load(ws: Workspace) -> dict[str, Any]:
    path = ws.data_dir / ERASED_IDS
    if path.is_file():
        found = json.loads(path.read_text("utf-8"))
        if isinstance(found, dict) and isinstance(found.get("salt"), str):
            return found
    return {"about": ABOUT, "salt": secrets.token_hex(16), "ids": [], "erasures": 0}


def remember(ws: Workspace, ids: set[str] | frozenset[str]) -> int:
    """Add the ids to the list (atomically); how many it holds now."""
    found = load(ws)
    known = set(found["ids"])
    known |= {digest(found["salt"], i) for i in ids}
    found.update(ids=sorted(known), erasures=int(found.get("erasures", 0)) + 1, updated_at=now_text())
    path = ws.data_dir / ERASED_IDS
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.erasing")
    temporary.write_text(json.dumps(found, indent=2) + "\n", "utf-8")
    flushed_replace(temporary, path)
    return len(known)


def erased_ids_in(ws: Workspace, part: Path) -> set[str]:
    """The erased record ids a Parquet part holds (its distinct ids hashed, a million a second)."""
    found = load(ws)
    if not found["ids"] or not part.is_file() or "customer_id" not in pq.read_schema(part).names:
        return set()
    hashes, salt = set(found["ids"]), found["salt"]
    ids = pc.unique(pq.read_table(part, columns=["customer_id"])["customer_id"].cast(pa.string())).to_pylist()
    return {i for i in ids if i is not None and digest(salt, i) in hashes}


def _set_aside(ws: Workspace, rejects: Path) -> tuple[set[str], int]:
    """Erased ids a rejects file names (an old row clashing with the erased record), and its rows."""
    import csv

    found = load(ws)
    hashes, salt = set(found["ids"]), found["salt"]
    ids: set[str] = set()
    rows = 0
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            value = (row.get("value") or "").strip()
            if value and digest(salt, value) in hashes:
                ids.add(value)
                rows += 1
    return ids, rows


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def blank_again(ws: Workspace, kind: str, files: list[dict[str, Any]]) -> dict[str, Any] | None:
    """After an import: the erased ids in the parts it wrote, their personal fields blanked again,
    and those its rejects file set aside (a row clashing with the erased record). None when there
    were none; else {customers, rows, set_aside, note}."""
    parts: dict[Path, dict[str, Any]] = {}
    for item in files:
        part = item.get("part")
        if part and item.get("status") not in ("failed", "not imported", "unchanged"):
            parts[Path(part)] = item
    if not parts or not load(ws)["ids"]:
        return None
    erased: set[str] = set()
    aside: set[str] = set()
    set_aside = 0
    for part, item in parts.items():
        erased |= erased_ids_in(ws, part)
        rejects = item.get("rejects_file")
        if rejects and Path(rejects).is_file():
            named, rows_aside = _set_aside(ws, Path(rejects))
            aside |= named
            set_aside += rows_aside
    if not erased and not aside:
        return None
    person = Person("", frozenset(erased))
    rows = erase_parts(ws, person, lambda text: None, only=set(parts)) if erased else {}
    for part, item in parts.items():
        item["erased_rows"] = rows.get(str(part), 0)
    total = sum(rows.values())
    count = len(erased | aside)
    said = []
    if total:
        said.append(
            f"{_plural(total, 'row')} kept with their personal fields blank again (ids, dates and amounts count)"
        )
    if set_aside:
        said.append(f"{_plural(set_aside, 'row')} set aside in the rejects file (they clash with the erased record)")
    note = (
        f"{_plural(count, 'customer')} erased before (tierkit forget) {'are' if count != 1 else 'is'} in the "
        f"{kind} imported: {'; '.join(said)}"
    )
    return {"customers": count, "rows": total, "set_aside": set_aside, "note": note}
