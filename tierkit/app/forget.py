"""`tierkit forget`: erase a person's personal data from every place tierkit keeps it (PIPL
art. 47; GDPR art. 17), keeping the pseudonymous grading history (ids, tiers, metrics).

Under the workspace's write lock, in this order (each step can run again: a `forget` stopped by a
crash is finished by running it again):

1. whom: the id given and the records `tierkit link` joined to it; their personal values, read
   from the customers data and the runs (to find copies of them elsewhere);
2. imported parts and data files, the owners file, the identity review list (erasure_data);
3. the lookup copies (removed, rebuilt on use), then every other file of the workspace;
4. every run's result, and its manifest (the erasure recorded, the checksums renewed);
5. the store (erasure_store): free text about the person, distinctive values anywhere;
6. the erased-ids list (erased), so that an import of an old file does not bring them back;
7. an audit entry `forget`: who, the customer id, the reason, the kinds of places changed and how
   many, never a value erased; then the store's files compacted (no old copy left in them).
"""

from __future__ import annotations

import getpass
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tierkit.app import erased
from tierkit.app.erasure_data import (
    PERSONAL_COLUMNS,
    drop_lookups,
    erase_data_files,
    erase_owners,
    erase_parts,
    erase_review,
    store_files,
    sweep,
)
from tierkit.app.erasure_files import ERASED, Person, yes_or_no
from tierkit.app.erasure_runs import erase_runs, result_blank
from tierkit.app.erasure_store import compact, erase_store, erased_rows
from tierkit.app.progress import Progress, silent
from tierkit.app.subject import linked_ids, person_rows
from tierkit.app.text import clean_text
from tierkit.app.writing import writing
from tierkit.errors import InputError, NotFoundError
from tierkit.runs.files import list_runs, store_of
from tierkit.store.audit import AuditLog
from tierkit.workspace import Workspace


def who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def personal_values(ws: Workspace, ids: list[str]) -> dict[str, set[Any]]:
    """field -> the person's values the workspace holds: from the customers data (canonical
    personal columns, the text of the file's own columns) and from every run's result."""
    found: dict[str, set[Any]] = defaultdict(set)
    for row in person_rows(ws, "customers", ids):
        for name, value in row.items():
            if value is None or name in ("_file", "_source", "_row", "customer_id"):
                continue
            if name in PERSONAL_COLUMNS:
                found[name].add(value)
            elif name == "attributes" and isinstance(value, dict):
                found["attributes"] |= {v for v in value.values() if v is not None and not yes_or_no(v)}
            elif name not in _CANONICAL_KEPT and not yes_or_no(value):
                found["attributes"].add(value)
    for run in list_runs(ws):
        if not run.result.is_file():
            continue
        schema = pq.read_schema(run.result)
        blank, _ = result_blank(run, schema)
        wanted = sorted(blank.columns | blank.attributes)
        if not wanted:
            continue
        rows = pq.read_table(run.result, columns=wanted, filters=[("customer_id", "in", ids)]).to_pylist()
        for row in rows:
            for name, value in row.items():
                if value is None or (name in blank.attributes and yes_or_no(value)):
                    continue
                found[name if name in PERSONAL_COLUMNS else "attributes"].add(value)
    return found


_CANONICAL_KEPT = frozenset(
    {"gender", "occupation", "education", "region", "signup_date", "business_line", "owner", "city", "state"}
)


def forget(
    workspace: Path | None,
    customer_id: str,
    reason: str,
    by: str | None = None,
    progress: Progress = silent,
) -> dict[str, Any]:
    """Erase the person's personal data from the workspace; what was changed, in counts."""
    ws = Workspace.open(workspace)
    customer_id = customer_id.strip()
    if not customer_id:
        raise InputError("give the id of the customer to erase")
    try:
        reason = clean_text(reason or "")
    except ValueError as err:
        raise InputError(f"--reason: {err}") from None
    if len(reason) < 3:
        raise InputError("--reason: say why the data is erased (the request and its date), at least 3 characters")
    with writing(ws, "forget"):
        return _forget(ws, customer_id, reason, by or who(), progress)


def _forget(ws: Workspace, customer_id: str, reason: str, actor: str, progress: Progress) -> dict[str, Any]:
    store = store_of(ws)
    progress("finding the person's records")
    ids = linked_ids(ws, customer_id)
    person = Person.of(customer_id, ids, personal_values(ws, ids))
    in_store = erased_rows(store, person)
    known = erased.load(ws)
    was_erased = any(erased.digest(known["salt"], i) in set(known["ids"]) for i in ids)
    if not person.values and not in_store and not was_erased and not _graded(ws, ids):
        raise NotFoundError(f"customer '{customer_id}' is in no data file, run or store table of {ws.root}")
    say = progress
    progress("erasing from the imported data")
    parts = erase_parts(ws, person, say)
    files, notes = erase_data_files(ws, person, say)
    owners = erase_owners(ws, person)
    review = erase_review(ws, person)
    lookups = drop_lookups(ws)
    progress("erasing from the workspace's other files")
    swept, more, touched = sweep(ws, person, store_files(ws, str(store.url)), say)
    progress("erasing from the runs")
    runs = erase_runs(ws, person, say, touched)
    progress("erasing from the store")
    stored = erase_store(store, person)
    erased.remember(ws, person.ids)
    root = ws.root.resolve()
    places = {
        "imported_parts": {Path(p).relative_to(root).as_posix(): n for p, n in parts.items()},
        "data_files": files,
        "owners_file": owners,
        "identity_review": review,
        "lookup_copies_removed": lookups,
        "runs": runs,
        "other_files": swept,
        "store": stored,
    }
    counts = {
        "imported_parts": len(parts),
        "data_files": len(files),
        "runs": len(runs),
        "other_files": len(swept),
        "store_rows": sum(stored.values()),
        "identity_review_cells": review,
        "owners_rows": owners,
    }
    kinds = sorted(k for k, v in counts.items() if v)
    detail = {"reason": person.scrub(reason), "records": len(ids), "places": kinds, "counts": counts}
    log = AuditLog(store)
    try:
        log.record(actor, "cli", "forget", customer_id, json.dumps(detail, ensure_ascii=False), now=True)
    finally:
        log.close()
    progress("compacting the store")
    note = compact(store, sorted(stored))
    return {
        "customer_id": customer_id,
        "records": ids,
        "reason": person.scrub(reason),
        "by": actor,
        "places": places,
        "counts": counts,
        "kept": "ids, tiers, scores, metrics, tags, dates and amounts (the pseudonymous grading history)",
        "notes": [*notes, *more, *([note] if note else [])],
        "erased_ids": len(erased.load(ws)["ids"]),
        "marker": ERASED,
    }


def _graded(ws: Workspace, ids: list[str]) -> bool:
    for run in list_runs(ws):
        if (
            run.result.is_file()
            and pq.read_table(run.result, columns=["customer_id"], filters=[("customer_id", "in", ids)]).num_rows
        ):
            return True
    return False
