"""`tierkit link`: one identity per real customer, in a workspace or over files; and its review list."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import typer

from tierkit.cli.importing import MapOpt, SheetOpt, parse_maps
from tierkit.cli.options import EngineOpt, JsonOpt, WorkspaceOpt
from tierkit.cli.render import err_console, print_json
from tierkit.errors import InputError

link_app = typer.Typer(
    help="Find records of the same real customer (probabilistic record linkage, splink).",
    invoke_without_command=True,
    no_args_is_help=False,
)
MatchOpt = Annotated[float | None, typer.Option("--match", help="Merge pairs at or above this probability.")]
ReviewOpt = Annotated[float | None, typer.Option("--review", help="Pairs from here up to --match go to review.")]
IDENTITY = Path("identity")


def _write_csv(table: pa.Table, path: Path) -> None:
    from tierkit.runs.output import convert_parquet, scratch_path

    with scratch_path(path.parent if path.parent.exists() else Path("."), ".parquet") as scratch:
        import pyarrow.parquet as pq

        pq.write_table(table, scratch)
        convert_parquet(scratch, path, "csv")


def _print(summary: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json(summary)
        return
    err_console.print(
        f"{summary['records']:,} records -> {summary['persons']:,} persons "
        f"({summary['merged_records']:,} records merged, {summary['review_pairs']:,} pairs to review); "
        f"fields compared: {', '.join(summary['fields'])}",
        highlight=False,
    )
    for key in ("output", "links", "review_file"):
        if summary.get(key):
            err_console.print(f"  {key.replace('_', ' ')}: {summary[key]}", highlight=False)


@link_app.callback()
def link_workspace(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    match: MatchOpt = None,
    review: ReviewOpt = None,
    engine: EngineOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Link the workspace's imported customers; grading then counts one customer per person."""
    if ctx.invoked_subcommand is not None:
        return
    from tierkit.backends import connect
    from tierkit.ingest.identity.link import link
    from tierkit.ingest.identity.persons import LINKS
    from tierkit.ingest.identity.review import Decisions
    from tierkit.tables.readers import read_table
    from tierkit.workspace import Workspace

    ws = Workspace.open(workspace)
    customers = ws.data_file("customers")
    if customers is None:
        raise InputError(f"{ws.root}: no customers imported; run 'tierkit import customers FILE' first")
    on = connect(engine or ws.setting("engine", "duckdb"))
    table = read_table(on, "customers", customers).table
    folder = ws.data_dir / IDENTITY
    decisions = Decisions.load(folder / "decisions.csv")
    links = ws.data_dir / LINKS
    import pyarrow.parquet as pq

    previous = pq.read_table(links, columns=["source", "customer_id", "person_id"]) if links.exists() else None
    linked = link(on, [("customers", table)], decisions, match, review, previous)
    folder.mkdir(parents=True, exist_ok=True)

    pq.write_table(linked.records, links.with_suffix(".partial"))
    os.replace(links.with_suffix(".partial"), links)
    review_file = folder / "review.csv"
    _write_csv(linked.review, review_file)
    _print({**linked.summary(), "links": str(links), "review_file": str(review_file)}, json_out)


@link_app.command("customers")
def link_files(
    files: Annotated[list[Path], typer.Argument(help="Customer files (CSV, TSV, XLSX, Parquet).")],
    map_: MapOpt = None,
    sheet: SheetOpt = None,
    output: Annotated[Path | None, typer.Option(help="OUT.csv (or .parquet, .xlsx): one row per record.")] = None,
    review_output: Annotated[Path | None, typer.Option("--review-output", help="Uncertain pairs as CSV.")] = None,
    decisions: Annotated[Path | None, typer.Option(help="Decisions CSV (a filled review list).")] = None,
    match: MatchOpt = None,
    review: ReviewOpt = None,
    engine: EngineOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """File mode: link customer files with no workspace; prints a summary, writes --output."""
    from tierkit.backends import connect
    from tierkit.ingest.identity.link import link
    from tierkit.ingest.identity.review import Decisions
    from tierkit.tables.readers import open_mapped

    on = connect(engine or "duckdb")
    maps = parse_maps(map_, "customers")
    sources = []
    for path in files:
        mapped = open_mapped(on, "customers", path, maps, sheet)  # raw text: dirty dates still compare
        sources.append((path.name, mapped.raw))
    if len({name for name, _ in sources}) < len(sources):
        raise InputError("two input files share a name; each source is known by its file name")
    said = Decisions.load(decisions, must_exist=True) if decisions else None
    linked = link(on, sources, said, match, review)
    summary: dict[str, Any] = linked.summary()
    if output is not None:
        from tierkit.runs.output import convert_parquet, output_format, scratch_path

        output_format(output)
        with scratch_path(output.parent if output.parent.exists() else Path("."), ".parquet") as scratch:
            import pyarrow.parquet as pq

            pq.write_table(linked.records, scratch)
            convert_parquet(scratch, output)
        summary["output"] = str(output)
    if review_output is not None:
        _write_csv(linked.review, review_output)
        summary["review_file"] = str(review_output)
    _print(summary, json_out)


@link_app.command("review")
def link_review(
    workspace: WorkspaceOpt = None,
    output: Annotated[Path | None, typer.Option(help="Write the open pairs as CSV, with a decision column.")] = None,
    decisions: Annotated[
        Path | None, typer.Option(help="Read a filled review CSV (decision: same or different) and keep it.")
    ] = None,
) -> None:
    """The pairs the model was unsure of; decisions are kept in data/identity/decisions.csv."""
    import csv

    from tierkit.ingest.identity.review import Decisions
    from tierkit.workspace import Workspace

    ws = Workspace.open(workspace)
    folder = ws.data_dir / IDENTITY
    store = folder / "decisions.csv"
    if decisions is not None:
        merged = Decisions.load(store).merge(Decisions.load(decisions, must_exist=True))
        merged.save(store)
        err_console.print(f"{len(merged.pairs):,} decisions kept in {store}; run 'tierkit link' to apply them")
        return
    review_file = folder / "review.csv"
    if not review_file.exists():
        raise InputError(f"{ws.root}: no review list yet; run 'tierkit link' first")
    known = Decisions.load(store)
    with review_file.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    pending = [
        r
        for r in rows
        if tuple(sorted((f"{r['source_l']}|{r['customer_id_l']}", f"{r['source_r']}|{r['customer_id_r']}")))
        not in known.pairs
    ]
    if output is not None:
        with output.open("w", encoding="utf-8-sig", newline="") as handle:
            fields = [
                *(rows[0].keys() if rows else ["source_l", "customer_id_l", "source_r", "customer_id_r"]),
                "decision",
            ]
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows({**r, "decision": ""} for r in pending)
        err_console.print(f"wrote {len(pending):,} pairs to {output}; fill 'decision' with same or different")
        return
    for r in pending:
        print(
            f"{r['customer_id_l']}  {r['customer_id_r']}  p={float(r['match_probability']):.3f}  "
            f"{r.get('name_key_l', '')} / {r.get('name_key_r', '')}"
        )
    err_console.print(f"{len(pending):,} pairs to review")
