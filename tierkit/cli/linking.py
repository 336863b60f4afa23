"""`tierkit link`: one identity per real customer, in a workspace or over files; and its review list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tierkit.app.maps import parse_maps
from tierkit.cli.importing import MapOpt, SheetOpt
from tierkit.cli.options import EngineOpt, JsonOpt, WorkspaceOpt
from tierkit.cli.progress import steps
from tierkit.cli.render import err_console, print_json

link_app = typer.Typer(
    help="Find records of the same real customer (probabilistic record linkage, splink).",
    invoke_without_command=True,
    no_args_is_help=False,
)
MatchOpt = Annotated[float | None, typer.Option("--match", help="Merge pairs at or above this probability.")]
ReviewOpt = Annotated[float | None, typer.Option("--review", help="Pairs from here up to --match go to review.")]


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
    from tierkit.app import linking

    if ctx.invoked_subcommand is not None:
        return

    with steps(len(linking.STAGES), json_out) as say:  # reading, blocking, training, scoring, clustering, writing
        summary = linking.link_workspace(workspace, match, review, engine, say)
    _print(summary, json_out)


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
    from tierkit.app import linking

    maps = parse_maps(map_, "customers")
    with steps(len(linking.STAGES), json_out) as say:
        summary = linking.link_files(files, maps, sheet, output, review_output, decisions, match, review, engine, say)
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
    from tierkit.app import linking

    if decisions is not None:
        count, store = linking.keep_decisions(workspace, decisions)
        err_console.print(f"{count:,} decisions kept in {store}; run 'tierkit link' to apply them")
        return
    pending = linking.pending_pairs(workspace)
    if output is not None:
        linking.write_review(pending, output)
        err_console.print(f"wrote {len(pending):,} pairs to {output}; fill 'decision' with same or different")
        return
    for r in pending:
        print(
            f"{r['customer_id_l']}  {r['customer_id_r']}  p={float(r['match_probability']):.3f}  "
            f"{r.get('name_key_l', '')} / {r.get('name_key_r', '')}"
        )
    err_console.print(f"{len(pending):,} pairs to review")
