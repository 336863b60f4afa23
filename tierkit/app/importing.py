"""Import as a use case: source files into a workspace, every file checked before any is imported.

The check opens each file and maps its header (formats, encodings, the delimiter, --map, the
required columns): a command whose second file lacks a column must not have imported the first
(issue 12). Values are checked while importing, file by file, against the reject threshold.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tierkit.app.maps import FileMaps
from tierkit.app.progress import Progress, silent
from tierkit.app.writing import writing
from tierkit.backends import Backend, connect
from tierkit.errors import InputError, TierkitError, did_you_mean
from tierkit.ingest.imports import import_file, source_key
from tierkit.ingest.quarantine import ImportRules
from tierkit.ingest.recheck import recheck
from tierkit.tables.readers import open_mapped, read_raw
from tierkit.tables.sources import TextOptions, open_source, text_options
from tierkit.workspace import Workspace


def import_files(
    workspace: Path | None,
    kind: str,
    files: list[Path],
    maps: dict[str, str] | FileMaps | None = None,
    sheet: str | None = None,
    threshold: float = 0.01,
    refunds: bool | None = None,
    today: str | None = None,
    progress: Progress = silent,
    delimiter: str | None = None,
    date_format: str | None = None,
) -> dict[str, Any]:
    """Import files of one kind into the workspace. Every file is opened and mapped first: when
    one cannot be, none is imported (`stopped`, each bad file listed with its error). Then each
    is imported whole or not at all (a file over the threshold is listed, the others go on);
    ids one lets go are looked for again in the files before it. `maps` (--map, see
    `maps.parse_file_maps`) apply to the files that have their columns, or to the file they
    name. `progress` hears three steps per file."""
    file_maps = maps if isinstance(maps, FileMaps) else FileMaps(dict(maps or {}))
    text = TextOptions.given(delimiter, date_format)  # a bad one is an error before anything
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
    with writing(ws, "import"):  # one writer at a time: the registry read here is the one written
        engine = connect("duckdb")
        given: dict[str, Path] = {}
        for path in files:  # a file given twice is imported once
            given.setdefault(source_key(path), path)
        keys = list(given)
        per_file, problems = check_files(engine, kind, given, file_maps, sheet, defaults, text)
        if problems:
            return stopped(kind, given, problems)
        results: dict[str, dict[str, Any]] = {}  # the files given, each in its final state
        others: dict[str, dict[str, Any]] = {}  # files not given that a recheck looked at
        say = progress
        for key in keys:
            try:
                results[key] = import_file(
                    engine, ws.data_dir, kind, given[key], rules, per_file[key], sheet, say, defaults, text=text
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
        summary = summarize(kind, list(results.values()), list(others.values()))
        return _erased_again(ws, kind, summary)


def _erased_again(ws: Workspace, kind: str, summary: dict[str, Any]) -> dict[str, Any]:
    """Customers erased before (tierkit forget) in the parts just written: their rows kept with the
    personal fields blank again, and the summary says so (`erased`, `notes`); see app.erased."""
    from tierkit.app import erased

    if not erased.load(ws)["ids"]:
        return summary
    again = erased.blank_again(ws, kind, summary["files"])
    if again is None:
        return summary
    summary["erased"] = {k: again[k] for k in ("customers", "rows", "set_aside")}
    summary["notes"] = [*summary.get("notes", []), again["note"]]
    return summary


def check_files(
    engine: Backend,
    kind: str,
    given: dict[str, Path],
    maps: FileMaps,
    sheet: str | None,
    defaults: dict[str, str],
    text: TextOptions,
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Open and map every file, reading no more than its header: the maps each file takes, and
    the error of each file that cannot be imported as given (a plain --map that no file has is
    an error of the command, raised)."""
    columns: dict[str, list[str]] = {}
    problems: dict[str, str] = {}
    per_file: dict[str, dict[str, str]] = {}
    headerless: set[str] = set()
    with text_options(text.delimiter, text.date_format):
        for key, path in given.items():
            try:
                source = open_source(path, sheet)
                columns[key] = list(read_raw(engine, source).columns)
            except TierkitError as err:
                problems[key] = str(err)
                continue
            if source.header_added:
                headerless.add(key)
        every = list(dict.fromkeys(c for found in columns.values() for c in found))
        for column, canonical in maps.everywhere.items():
            if column not in every and not problems:  # an unreadable file might have had it
                raise InputError(
                    f"--map '{column}={canonical}': no file has a column '{column}'{did_you_mean(column, every)} "
                    f"(columns: {', '.join(every)})"
                )
        for key, found in columns.items():
            per_file[key] = maps.of(given[key], found)
            try:
                open_mapped(engine, kind, given[key], per_file[key], sheet, defaults)
            except TierkitError as err:
                problems[key] = str(err)
                if key in headerless and "missing required column" in problems[key]:
                    problems[key] += "; its first line is data, not a header: name the columns with --map column1=..."
    return per_file, problems


def stopped(kind: str, given: dict[str, Path], problems: dict[str, str]) -> dict[str, Any]:
    """The summary of a command that imported nothing because some of its files failed the check."""
    names = ", ".join(given[key].name for key in problems)
    results = [
        {"kind": kind, "file": key, "status": "failed", "error": problems[key]}
        if key in problems
        else {"kind": kind, "file": key, "status": "not imported", "error": f"not imported: {names} cannot be"}
        for key in given
    ]
    return summarize(kind, results) | {"stopped": True}


def summarize(kind: str, results: list[dict[str, Any]], others: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Totals over the files given (`results`, each in its final state); `rejects_file` is the one
    file of rejects, the folder when several files had rejects, or None. `others` (files not given
    that `recheck` looked at) are listed after them, not totalled."""
    done = [r for r in results if r["status"] not in ("failed", "not rechecked", "not imported")]
    totals = {k: sum(r[k] for r in done) for k in ("read", "imported", "rejected", "duplicates", "refunds")}
    with_rejects = [r["rejects_file"] for r in done if r["rejects_file"]]
    rejects: str | None = None
    if len(with_rejects) == 1:
        rejects = with_rejects[0]
    elif with_rejects:
        rejects = str(Path(with_rejects[0]).parent)
    failed = [r for r in results if r["status"] == "failed"]
    return {"kind": kind, **totals, "rejects_file": rejects, "failed": len(failed), "files": results + (others or [])}
