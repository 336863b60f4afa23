"""Graded runs with one person's personal data erased (tierkit forget): each result.parquet
holding them rewritten, its lookup copy removed (a serving process then reads it again), and its
manifest recording the erasure and the result's new sha256, so that `tierkit verify` stays clean.

Which columns: the personal fields the run's policy reads and its copies of them (masking's
`personal_names`: a metric `expr: "name"`), text derived from them (a number such as `age` stays),
and the customers file's own columns copied into the result (attributes; a yes/no flag stays),
with the same values nulled in `reasons` (its `values`), the rest of the JSON byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tierkit.app.erasure_data import PERSONAL_COLUMNS, Say, now_text
from tierkit.app.erasure_files import Blank, Outcome, Person, flushed_replace, names_person, rewrite_parquet
from tierkit.app.masking import personal_names
from tierkit.canonical import CUSTOMERS
from tierkit.policy.labels import score_columns
from tierkit.runs.card import run_policy
from tierkit.runs.files import MANIFEST, RESULT, Run
from tierkit.runs.lookup import RUN_CACHES
from tierkit.tables.readers import file_fingerprint
from tierkit.workspace import Workspace

RESULT_KEPT = {"customer_id", "tier", "tier_label", "tags", "reasons", "as_of", "age", *CUSTOMERS.names}


def result_blank(run: Run, schema: pa.Schema) -> tuple[Blank, frozenset[str]]:
    """The columns of a run's result to blank for the person, and the `reasons` values to null."""
    policy = run_policy(run)
    personal = personal_names(policy)
    columns: set[str] = set()
    for name in schema.names:
        if name not in personal:
            continue
        kind = schema.field(name).type
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        if name in PERSONAL_COLUMNS or personal[name] is not None or not numeric:
            columns.add(name)  # a copy of a personal field, or text derived from one; a number (age) stays
    graded = {*policy.metrics, *score_columns(policy), *RESULT_KEPT}
    own = {n for n in schema.names if n not in graded and not n.startswith("tag_") and n not in columns}
    blank = Blank(ids=("customer_id",), columns=frozenset(columns), attributes=frozenset(own))
    flags = {n for n in own if pa.types.is_boolean(schema.field(n).type)}  # yes/no: kept
    return blank, frozenset(columns | own) - flags


def erase_runs(ws: Workspace, person: Person, say: Say, touched: set[Path]) -> dict[str, int]:
    """Each run's result rewritten where it holds the person; rows changed per run. `touched`:
    files of the workspace changed before (a run's policy file in the sweep), whose sha256 the
    run's manifest must follow."""
    changed: dict[str, int] = {}
    for folder in sorted(ws.runs_dir.iterdir()) if ws.runs_dir.is_dir() else []:
        if not folder.is_dir() or folder.name.startswith(".") or not (folder / MANIFEST).is_file():
            continue
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
        result = folder / RESULT
        outcome = Outcome()
        blanked: frozenset[str] = frozenset()
        if result.is_file() and names_person(result, person, ("customer_id",)):
            say(f"erasing from runs/{folder.name}")
            run = Run(folder.name, folder, manifest)
            blank, blanked = result_blank(run, pq.read_schema(result))
            blank = Blank(blank.ids, blank.columns, blank.attributes, reasons="reasons", reason_keys=blanked)
            temporary = folder / f".{RESULT}.erasing"
            outcome = rewrite_parquet(result, temporary, person, blank)
            if outcome.changed:
                drop_run_caches(folder)  # before and after: a reader may rebuild them
                flushed_replace(temporary, result)
                drop_run_caches(folder)
                touched.add(result.resolve())
        listed = manifest.get("files") or {}
        redone = {n: file_fingerprint(folder / n) for n in listed if (folder / n).resolve() in touched}
        if not redone and not outcome.changed:
            continue
        manifest["files"] = {**listed, **redone}
        manifest.setdefault("erasures", []).append(
            {
                "at": now_text(),
                "rows": outcome.rows,
                "cells": outcome.cells,
                "columns": sorted(c for c in blanked),
                "files": sorted(redone),
            }
        )
        temporary = folder / f".{MANIFEST}.erasing"
        temporary.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
        flushed_replace(temporary, folder / MANIFEST)
        changed[folder.name] = outcome.rows
    return changed


def drop_run_caches(folder: Path) -> None:
    """The run's sorted copies hold the ids (and the whole rows) the rewrite just blanked."""
    for name in RUN_CACHES:
        (folder / name).unlink(missing_ok=True)
