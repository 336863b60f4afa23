"""What `grade`, `demo` and `export` do, apart from how the CLI prints it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tierkit.cli.progress import steps
from tierkit.engine.backend import Engine, connect
from tierkit.engine.grade import Grading, grade_inputs, parse_as_of, read_inputs
from tierkit.errors import InputError, WorkspaceError
from tierkit.policy.loader import load_policy
from tierkit.runs.output import convert_parquet, output_format
from tierkit.tables.readers import SourceTable
from tierkit.workspace import TABLE_NAMES, Workspace


def last_order_date(engine: Engine, orders: SourceTable) -> Any:
    value = engine.execute_scalar(orders.table.ordered_at.max())
    if value is None:
        raise InputError(f"{orders.path}: no order has a date; give --as-of")
    return value


def _grade(
    engine_name: str,
    files: dict[str, Path | None],
    policy_ref: Any,
    as_of: str | None,
    lang: str,
    say: Any,
    maps: dict[str, str] | None = None,
    sheet: str | None = None,
) -> Grading:
    loaded = policy_ref if not isinstance(policy_ref, str) else load_policy(policy_ref)
    as_of_date = parse_as_of(as_of) if as_of else None
    say(f"reading inputs on {engine_name}")
    engine = connect(engine_name)
    orders = files.get("orders")
    if orders is None:
        raise InputError("no orders file: give --orders FILE, or put data/orders.parquet in the workspace")
    inputs = read_inputs(
        engine,
        orders,
        files.get("customers"),
        files.get("interactions"),
        files.get("contacts"),
        loaded.policy.inputs,
        maps,
        sheet,
    )
    links = files.get("links")
    if links is not None and links.exists():  # `tierkit link` ran: one customer per person
        from tierkit.ingest.identity.persons import by_person

        say("folding linked customer ids into persons")
        inputs = by_person(engine, inputs, links)
        stale = stale_links(links, files.get("customers"))
    else:
        stale = None
    if as_of_date is None:
        as_of_date = last_order_date(engine, inputs.orders)
    say(f"planning {loaded.policy.name} as of {as_of_date}")
    grading = grade_inputs(inputs, loaded, as_of_date, engine, lang)
    if stale:
        grading.warnings.append(stale)
    return grading


def stale_links(links: Path, customers: Path | None) -> str | None:
    """A note when customers were imported after the last `tierkit link`: its persons may be out of date."""
    if customers is None or not customers.exists():
        return None
    parts = sorted(customers.glob("*.parquet")) if customers.is_dir() else [customers]
    newest = max((p.stat().st_mtime for p in parts), default=0.0)
    if newest > links.stat().st_mtime:
        return "customers changed after the last 'tierkit link'; run it again so that persons are up to date"
    return None


@contextmanager
def _progress(callback: Callable[[str], None] | None, quiet: bool) -> Iterator[Callable[[str], None]]:
    if callback is not None:
        yield callback
        return
    with steps(3, quiet) as say:
        yield say


def run_grade(
    *,
    workspace: Path | None,
    orders: Path | None,
    customers: Path | None,
    interactions: Path | None,
    contacts: Path | None,
    policy: str | None,
    as_of: str | None,
    output: Path | None,
    engine: str | None,
    lang: str,
    publish: bool,
    quiet: bool,
    progress: Callable[[str], None] | None = None,
    maps: dict[str, str] | None = None,
    sheet: str | None = None,
) -> dict[str, Any]:
    """Grade into --output (file mode) or a new run; `progress` receives each step's name
    (the API's background jobs), else a progress bar shows them unless `quiet`. `maps` and
    `sheet` (--map, --sheet) say how to read the files given."""
    given = {"orders": orders, "customers": customers, "interactions": interactions, "contacts": contacts}
    start = time.perf_counter()
    with _progress(progress, quiet) as say:
        if output is not None:  # file mode: no workspace
            output_format(output)
            grading = _grade(engine or "duckdb", given, policy or "retail", as_of, lang, say, maps, sheet)
            say(f"grading into {output}")
            summary = grading.write(output)
            summary.update(output=str(output), warnings=grading.warnings, seconds=round(time.perf_counter() - start, 3))
            return summary
        ws = Workspace.open(workspace)
        files = {name: given[name] or ws.data_file(name) for name in TABLE_NAMES}
        from tierkit.ingest.identity.persons import LINKS

        files["links"] = ws.data_dir / LINKS
        loaded = ws.policy(policy)
        grading = _grade(engine or ws.setting("engine", "duckdb"), files, loaded, as_of, lang, say, maps, sheet)
        say("grading into a new run")
        from tierkit.runs.store import write_run

        run = write_run(ws, grading, publish=publish)
    summary = dict(run.manifest["summary"])
    summary.update(
        run_id=run.run_id, published=publish, warnings=grading.warnings, seconds=round(time.perf_counter() - start, 3)
    )
    return summary


def run_demo(
    workspace: Path | None, customers: int, seed: int, engine: str | None, lang: str, quiet: bool
) -> dict[str, Any]:
    from tierkit.demo.shop import generate

    root = workspace or Path("demo-workspace")
    ws = Workspace.init(root, "retail", demo=True)
    if not ws.config.get("demo"):
        raise WorkspaceError(f"{ws.root} is a workspace with its own data, not a demo one; choose another --workspace")
    with steps(1, quiet) as say:
        say(f"generating a shop of {customers:,} customers")
        files = generate(ws.root / "data", customers=customers, seed=seed)
    summary = run_grade(
        workspace=ws.root,
        orders=None,
        customers=None,
        interactions=None,
        contacts=None,
        policy=None,
        as_of=files.as_of.isoformat(),
        output=None,
        engine=engine,
        lang=lang,
        publish=True,
        quiet=quiet,
    )
    summary["workspace"] = str(ws.root)
    summary["example_customer"] = "00000001"
    return summary


def run_export(workspace: Path | None, run_ref: str | None, output: Path, tier: str | None) -> int:
    from tierkit.runs.store import load_run

    output_format(output)
    run = load_run(Workspace.open(workspace), run_ref)
    return convert_parquet(run.result, output, tier=tier)
