"""The `tierkit` command line: init, demo, grade, runs, show, diff, export, presets.

Each command parses its options, calls its use case in tierkit.app and prints the result. The
use cases are imported inside the commands: `tierkit --help`, `tierkit init` or `tierkit
import` do not pay for loading Ibis, scipy and splink (about 2 s together).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from tierkit.cli.alerts import alerts_app, webhooks_app
from tierkit.cli.backup import backup_command, restore_command, verify_command
from tierkit.cli.campaigns import campaign_app
from tierkit.cli.churn import churn_app
from tierkit.cli.clv import clv_app
from tierkit.cli.entitlements import entitlements_app
from tierkit.cli.graded import report
from tierkit.cli.importing import MapOpt, SheetOpt, import_command, parse_maps
from tierkit.cli.linking import link_app
from tierkit.cli.lists import list_app
from tierkit.cli.options import DateFormatOpt, DelimiterOpt, EngineOpt, JsonOpt, Lang, LangOpt, WorkspaceOpt
from tierkit.cli.plans import owners_app, plan_app
from tierkit.cli.privacy import audit_app, forget_command, subject_export_command
from tierkit.cli.progress import steps
from tierkit.cli.render import emit, err_console, print_card, print_json, print_migration, print_summary
from tierkit.cli.schedule import schedule_app
from tierkit.cli.serving import serve_command, users_app
from tierkit.cli.small import small_command
from tierkit.cli.tags import tags_app
from tierkit.errors import TierkitError
from tierkit.settings import DEFAULT_LANG

app = typer.Typer(
    help="Customer tiering and differentiated service (客户分级管理).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(shown: bool) -> None:
    if shown:
        from tierkit.version import __version__

        print(f"tierkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Customer tiering and differentiated service (客户分级管理)."""


def resolve_lang(lang: Lang | None, workspace: Path | None) -> str:
    """--lang if given, else the workspace's `lang:` setting, else zh."""
    from tierkit.app import workspaces

    if lang is not None:
        return lang.value
    return workspaces.language(workspace)


@app.command()
def init(
    directory: Annotated[Path | None, typer.Argument()] = None,
    preset: Annotated[str, typer.Option(help="Policy preset to start from.")] = "retail",
) -> None:
    """Create a workspace: tierkit.yaml, policy.yaml (from a preset), data/ and runs/."""
    from tierkit.app import workspaces

    if workspaces.exists(directory):
        err_console.print(f"{workspaces.folder(directory)} is already a workspace; nothing changed")
        return
    ws = workspaces.init(directory, preset)
    err_console.print(
        f"workspace ready at {ws.root} (policy.yaml from preset '{preset}'); put data files in {ws.root / 'data'}"
    )


def _print_presets(items: Any) -> None:
    for item in items:
        print(f"{item['name']:<15} {item['description']}")


@app.command()
def presets(json_out: JsonOpt = False) -> None:
    """List the shipped policy presets."""
    from tierkit.app import policies

    emit(policies.presets(), json_out, _print_presets)


@app.command()
def check(
    policy: Annotated[str, typer.Argument(help="Policy file or preset name.")],
    customers: Annotated[
        Path | None, typer.Option(help="A customers file: its own columns become known to the rules.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Validate a policy: parse it and compile every rule and score; print its version hash."""
    from tierkit.app import policies

    loaded = policies.check(policy, customers)
    if json_out:
        print_json({"policy": loaded.policy.name, "hash": loaded.hash, "source": loaded.source})
    else:
        print(f"{loaded.source}: ok, policy '{loaded.policy.name}' version {loaded.short_hash}")


@app.command()
def grade(
    workspace: WorkspaceOpt = None,
    # text, not Path: Path('s3a://bucket/x') is 's3a:/bucket/x' (a URI, read by --engine spark)
    orders: Annotated[
        str | None, typer.Option(help="Orders file (.csv or .parquet); with --engine spark also a URI (s3a://...).")
    ] = None,
    customers: Annotated[str | None, typer.Option(help="Customers file (or a URI, --engine spark).")] = None,
    interactions: Annotated[str | None, typer.Option(help="Interactions file (or a URI, --engine spark).")] = None,
    contacts: Annotated[str | None, typer.Option(help="Contacts file (or a URI, --engine spark).")] = None,
    policy: Annotated[str | None, typer.Option(help="Preset name or policy YAML.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: the last order date).")] = None,
    output: Annotated[
        Path | None, typer.Option(help="File mode, no workspace: write OUT.csv, .xlsx, .parquet, .json or .jsonl.")
    ] = None,
    engine: EngineOpt = None,
    lang: LangOpt = None,
    json_out: JsonOpt = False,
    publish: Annotated[
        bool | None,
        typer.Option(
            "--publish/--no-publish",
            help="Make the run current, or keep the current one (default: publish, unless the current run "
            "is as of a later date).",
        ),
    ] = None,
    map_: MapOpt = None,
    sheet: SheetOpt = None,
    delimiter: DelimiterOpt = None,
    date_format: DateFormatOpt = None,
) -> None:
    """Grade customers: into a new published run of the workspace, or into --output."""
    from tierkit.app import grading

    lang_code = (lang.value if lang else DEFAULT_LANG) if output else resolve_lang(lang, workspace)
    with steps(3, json_out) as say:
        summary = grading.grade_workspace(
            workspace=workspace,
            orders=orders,
            customers=customers,
            interactions=interactions,
            contacts=contacts,
            policy=policy,
            as_of=as_of,
            output=output,
            engine=engine,
            lang=lang_code,
            publish=publish,
            progress=say,
            maps=parse_maps(map_),
            sheet=sheet,
            delimiter=delimiter,
            date_format=date_format,
        )
    report(summary, lang_code, json_out)


@app.command()
def demo(
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Demo workspace folder (default: ./demo-workspace).")
    ] = None,
    customers: Annotated[int, typer.Option("--customers", help="How many customers.")] = 50_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20261129,
    engine: EngineOpt = None,
    lang: LangOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Generate a realistic shop, grade it with the retail preset, and print the summary."""
    from tierkit.app import demo

    lang_code = resolve_lang(lang, workspace or Path("demo-workspace"))
    with steps(4, json_out) as say:
        summary = demo.demo(workspace, customers, seed, engine, lang_code, progress=say, history=True, churn=True)
    from tierkit.app.users import demo_keys, demo_users

    where, example = summary["workspace"], summary["example_customer"]
    keys = demo_keys(Path(where))  # the workbench's sign-in, one key per role, made afresh
    if json_out:
        print_json({**summary, "workbench_keys": keys})
        return
    print_summary(summary, lang_code)
    err_console.print(f"demo workspace: {where} (try: tierkit show {example} -w {where})")
    err_console.print(
        f"workbench: tierkit serve -w {where}, then open http://127.0.0.1:8000/app/ and sign in with a key:",
        soft_wrap=True,
    )
    names = demo_users()
    for role, key in keys.items():
        err_console.print(f"  {role:<8} {key}  ({names[role]})", soft_wrap=True, highlight=False)


def _print_runs(items: Any) -> None:
    for i in items:
        print(
            f"{'*' if i['current'] else ' '} {i['run_id']}  as-of {i['as_of']}  {i['policy']} "
            f"{i['policy_hash']}  {i['engine']}  {i['customers']:,} customers"
        )


@app.command()
def runs(workspace: WorkspaceOpt = None, json_out: JsonOpt = False) -> None:
    """List the runs of a workspace; * marks the published one."""
    from tierkit.app import runs as run_uses

    emit(run_uses.runs(workspace), json_out, _print_runs)


@app.command()
def show(
    customer_id: str,
    workspace: WorkspaceOpt = None,
    run: Annotated[str | None, typer.Option(help="Run id (default: current).")] = None,
    lang: LangOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print one customer's card: tier, scores, tags, service and the reasons."""
    from tierkit.app import runs as run_uses

    lang_code = resolve_lang(lang, workspace)
    card = run_uses.card(workspace, customer_id, run, lang_code)
    print_json(card) if json_out else print_card(card, lang_code)


@app.command()
def publish(run: str, workspace: WorkspaceOpt = None) -> None:
    """Make a run the current one (e.g. one graded with --no-publish), atomically."""
    from tierkit.app import runs as run_uses

    run_id = run_uses.publish(workspace, run)
    err_console.print(f"run {run_id} is now current")


@app.command()
def diff(
    run_a: str,
    run_b: Annotated[str, typer.Argument()] = "current",
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(help="How many movers to list.")] = 20,
    json_out: JsonOpt = False,
) -> None:
    """Migration between two runs: the tier x tier matrix and who moved."""
    from tierkit.app import runs as run_uses

    result = run_uses.diff(workspace, run_a, run_b, limit)
    print_json(result) if json_out else print_migration(result)


@app.command()
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="OUT.csv, .xlsx, .parquet, .json or .jsonl")],
    workspace: WorkspaceOpt = None,
    run: Annotated[str | None, typer.Option()] = None,
    tier: Annotated[str | None, typer.Option(help="Only this tier.")] = None,
) -> None:
    """Export a run (default: current) as CSV, XLSX or Parquet; formula-like text is escaped."""
    from tierkit.app import grading

    count = grading.export(workspace, run, output, tier)
    err_console.print(f"wrote {count:,} customers to {output}")


app.command("import")(import_command)
app.add_typer(link_app, name="link")
app.command("serve")(serve_command)
app.add_typer(users_app, name="users")
app.add_typer(clv_app, name="clv")
app.add_typer(churn_app, name="churn")
app.add_typer(tags_app, name="tags")
app.add_typer(list_app, name="list")
app.add_typer(plan_app, name="plan")
app.add_typer(owners_app, name="owners")
app.add_typer(campaign_app, name="campaign")
app.command("small")(small_command)
app.add_typer(entitlements_app, name="entitlements")
app.add_typer(alerts_app, name="alerts")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(schedule_app, name="schedule")
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.command("verify")(verify_command)
app.command("forget")(forget_command)
app.command("subject-export")(subject_export_command)
app.add_typer(audit_app, name="audit")


def main() -> None:
    """Run the CLI; a user error prints one line and exits 2, with nothing written."""
    try:
        app()
    except TierkitError as err:
        err_console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(err.exit_code)
    except Exception as exc:  # a full disk met where no writer named what it wrote: still one line
        from tierkit.errors import as_error

        full = as_error(exc)
        if full is None:
            raise
        err_console.print(f"[red]error:[/red] {escape(str(full))}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(full.exit_code)
