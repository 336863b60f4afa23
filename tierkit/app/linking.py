"""Identity linking as use cases: a workspace's customers, customer files, and the review list."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tierkit.app.writing import writing
from tierkit.backends import connect
from tierkit.errors import InputError, room_for
from tierkit.ingest.identity.link import STAGES, link
from tierkit.ingest.identity.persons import LINKS
from tierkit.ingest.identity.review import Decisions
from tierkit.runs.output import convert_parquet, output_format, scratch_path
from tierkit.tables.readers import open_mapped, read_table
from tierkit.workspace import Workspace

IDENTITY = Path("identity")
Say = Callable[[str], None]  # called as each stage of a link starts (link.STAGES): a progress bar


def _silent(stage: str) -> None:
    return None


def _write(table: pa.Table, path: Path, fmt: str | None = None) -> None:
    """A table as CSV (or the output's own format), written whole or not at all."""
    with scratch_path(path.parent if path.parent.exists() else Path("."), ".parquet") as scratch:
        pq.write_table(table, scratch)
        convert_parquet(scratch, path, fmt)


def link_workspace(
    workspace: Path | None,
    match: float | None = None,
    review: float | None = None,
    engine: str | None = None,
    say: Say = _silent,
) -> dict[str, Any]:
    """Link the workspace's imported customers; grading then counts one customer per person."""
    ws = Workspace.open(workspace)
    with writing(ws, "link"):  # the customers read are the ones linked: no import in between
        return _link_workspace(ws, match, review, engine, say)


def _link_workspace(
    ws: Workspace, match: float | None, review: float | None, engine: str | None, say: Say
) -> dict[str, Any]:
    customers = ws.data_file("customers")
    if customers is None:
        raise InputError(f"{ws.root}: no customers imported; run 'tierkit import customers FILE' first")
    on = connect(engine or ws.setting("engine", "duckdb"))
    table = read_table(on, "customers", customers).table
    folder = ws.data_dir / IDENTITY
    decisions = Decisions.load(folder / "decisions.csv")
    links = ws.data_dir / LINKS
    previous = pq.read_table(links, columns=["source", "customer_id", "person_id"]) if links.exists() else None
    linked = link(on, [("customers", table)], decisions, match, review, previous, say)
    say(STAGES[-1])
    folder.mkdir(parents=True, exist_ok=True)
    staged, review_file = links.with_suffix(".partial"), folder / "review.csv"
    try:  # a full disk: one line, and the links and review list as they were
        with room_for(f"the identity links {links}"):
            pq.write_table(linked.records, staged)
            _write(linked.review, review_file, "csv")  # whole or not at all (an export's own rename)
            os.replace(staged, links)
    finally:
        staged.unlink(missing_ok=True)
    return {**linked.summary(), "links": str(links), "review_file": str(review_file)}


def link_files(
    files: list[Path],
    maps: dict[str, str] | None = None,
    sheet: str | None = None,
    output: Path | None = None,
    review_output: Path | None = None,
    decisions: Path | None = None,
    match: float | None = None,
    review: float | None = None,
    engine: str | None = None,
    say: Say = _silent,
) -> dict[str, Any]:
    """File mode: link customer files with no workspace; the summary, and `output` written."""
    if output is not None:
        output_format(output)
    on = connect(engine or "duckdb")
    sources = []
    for path in files:
        mapped = open_mapped(on, "customers", path, maps, sheet)  # raw text: dirty dates still compare
        sources.append((path.name, mapped.raw))
    if len({name for name, _ in sources}) < len(sources):
        raise InputError("two input files share a name; each source is known by its file name")
    said = Decisions.load(decisions, must_exist=True) if decisions else None
    linked = link(on, sources, said, match, review, say=say)
    say(STAGES[-1])
    summary: dict[str, Any] = linked.summary()
    if output is not None:
        _write(linked.records, output)
        summary["output"] = str(output)
    if review_output is not None:
        _write(linked.review, review_output, "csv")
        summary["review_file"] = str(review_output)
    return summary


def keep_decisions(workspace: Path | None, decisions: Path) -> tuple[int, Path]:
    """Merge a filled review CSV into the workspace's decisions; (how many are kept, where)."""
    ws = Workspace.open(workspace)
    store = ws.data_dir / IDENTITY / "decisions.csv"
    with writing(ws, "link review"):
        merged = Decisions.load(store).merge(Decisions.load(decisions, must_exist=True))
        merged.save(store)
    return len(merged.pairs), store


def pending_pairs(workspace: Path | None) -> list[dict[str, str]]:
    """The pairs of the last link's review list that no decision answers yet."""
    ws = Workspace.open(workspace)
    folder = ws.data_dir / IDENTITY
    review_file = folder / "review.csv"
    if not review_file.exists():
        raise InputError(f"{ws.root}: no review list yet; run 'tierkit link' first")
    known = Decisions.load(folder / "decisions.csv")
    with review_file.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        r
        for r in rows
        if tuple(sorted((f"{r['source_l']}|{r['customer_id_l']}", f"{r['source_r']}|{r['customer_id_r']}")))
        not in known.pairs
    ]


def write_review(pending: list[dict[str, str]], output: Path) -> None:
    """The open pairs as CSV with an empty `decision` column to fill with same or different."""
    with output.open("w", encoding="utf-8-sig", newline="") as handle:
        fields = [
            *(pending[0].keys() if pending else ["source_l", "customer_id_l", "source_r", "customer_id_r"]),
            "decision",
        ]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows({**r, "decision": ""} for r in pending)
