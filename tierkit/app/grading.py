"""Grading as a use case: a workspace into a new run, files into a file, the demo, an export.

What the CLI, the REST API (background jobs) and the Python API call; progress goes to a
callback, so nothing here knows a terminal or HTTP.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierkit.app.progress import Progress, silent
from tierkit.app.writing import writing
from tierkit.backends import Backend, connect
from tierkit.engine.grade import Grading, grade_inputs, parse_as_of
from tierkit.engine.reading import read_inputs, with_rows
from tierkit.errors import InputError
from tierkit.ingest.identity.persons import LINKS, by_person
from tierkit.policy.labels import tier_labels
from tierkit.policy.loader import LoadedPolicy, load_policy
from tierkit.runs import replay
from tierkit.runs.card import run_policy
from tierkit.runs.files import Run, current_run_id, load_run, store_of, write_run
from tierkit.runs.output import convert_parquet, output_format
from tierkit.runs.overrides import manual_tiers
from tierkit.runs.result import GradedResult, write_result
from tierkit.runs.stability import run_before
from tierkit.runs.workbook import Readable
from tierkit.settings import DEFAULT_LANG
from tierkit.tables.locations import is_uri
from tierkit.tables.readers import SourceTable
from tierkit.tables.sources import text_options
from tierkit.workspace import TABLE_NAMES, Workspace

if TYPE_CHECKING:  # pyarrow (0.1 s with numpy) only where a table is built: not on `tierkit grade`'s path
    import pyarrow as pa


def last_order_date(engine: Backend, orders: SourceTable) -> Any:
    value = engine.execute_scalar(orders.table.ordered_at.max())
    if value is None:
        raise InputError(f"{orders.path}: no order has a date; give --as-of")
    return value


def _grade(
    engine_name: str,
    files: dict[str, str | Path | None],
    policy_ref: Any,
    as_of: str | None,
    lang: str,
    say: Progress,
    maps: dict[str, str] | None = None,
    sheet: str | None = None,
    taken: pa.Table | None = None,
    before: Callable[[dt.date], Run | None] | None = None,
) -> Grading:
    """`before(as_of)`: the run a grading continues from, for the policy's `stability:`."""
    loaded = policy_ref if not isinstance(policy_ref, str) else load_policy(policy_ref)
    as_of_date = parse_as_of(as_of) if as_of else None
    say(f"reading inputs on {engine_name}")
    engine = connect(engine_name)
    orders = files.get("orders")
    if orders is None:
        raise InputError(
            "no orders file: import one with 'tierkit import orders FILE -w WORKSPACE' "
            "(or give --orders FILE, or put data/orders.parquet in the workspace)"
        )
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
    if taken is not None and taken.num_rows:  # complaints taken in tierkit count as interactions
        inputs = with_rows(inputs, "interactions", taken, "complaints taken in tierkit")
    links = files.get("links")
    if isinstance(links, Path) and links.exists():  # `tierkit link` ran: one customer per person
        say("folding linked customer ids into persons")
        inputs = by_person(engine, inputs, links)
        stale = stale_links(links, files.get("customers"))
    else:
        stale = None
    if as_of_date is None:
        as_of_date = last_order_date(engine, inputs.orders)
    say(f"planning {loaded.policy.name} as of {as_of_date}")
    previous = before(as_of_date) if before is not None and loaded.policy.stability is not None else None
    prior = engine.read_parquet(previous.result) if previous is not None else None
    grading = grade_inputs(inputs, loaded, as_of_date, engine, lang, prior)
    if loaded.policy.stability is not None:  # the manifest says which run the counts continue
        grading.stability = continued_from(previous)
    if stale:
        grading.warnings.append(stale)
    return grading


def continued_from(previous: Run | None) -> dict[str, Any]:
    """The run a grading's stable tiers continue from, as the manifest keeps it."""
    if previous is None:
        return {"previous_run": None, "previous_as_of": None}
    return {"previous_run": previous.run_id, "previous_as_of": previous.manifest.get("as_of")}


def stale_links(links: Path, given: str | Path | None) -> str | None:
    """A note when customers were imported after the last `tierkit link`: its persons may be out of date."""
    if given is None or is_uri(given):  # a URI's time is Spark's to know
        return None
    customers = Path(given)
    if not customers.exists():
        return None
    parts = sorted(customers.glob("*.parquet")) if customers.is_dir() else [customers]
    newest = max((p.stat().st_mtime for p in parts), default=0.0)
    if newest > links.stat().st_mtime:
        return "customers changed after the last 'tierkit link'; run it again so that persons are up to date"
    return None


def grade_workspace(
    workspace: Path | None = None,
    *,
    orders: str | Path | None = None,
    customers: str | Path | None = None,
    interactions: str | Path | None = None,
    contacts: str | Path | None = None,
    policy: str | None = None,
    as_of: str | None = None,
    output: Path | None = None,
    engine: str | None = None,
    lang: str = DEFAULT_LANG,
    publish: bool | None = None,
    progress: Progress = silent,
    maps: dict[str, str] | None = None,
    sheet: str | None = None,
    delimiter: str | None = None,
    date_format: str | None = None,
) -> dict[str, Any]:
    """Grade into `output` (file mode, no workspace) or a new run of the workspace; `progress`
    receives each step's name (three steps). `maps` and `sheet` (--map, --sheet) say how to
    read the files given; a file given as text may be a URI for --engine spark (s3a://...,
    tables.locations). Returns the summary, with the run id or the output file.

    `publish`: True or False as asked; None (the default) publishes unless the current run is
    as of a later date: a look back at June must not replace September's grades unasked. The
    summary then says why it was kept back (`held_back`)."""
    given = {"orders": orders, "customers": customers, "interactions": interactions, "contacts": contacts}
    start = time.perf_counter()
    say = progress
    if output is not None:  # file mode: no workspace
        output_format(output)
        with text_options(delimiter, date_format):  # --delimiter, --date-format for the files given
            grading = _grade(engine or "duckdb", given, policy or "retail", as_of, lang, say, maps, sheet)
        say(f"grading into {output}")
        summary = write_result(grading, output)
        replay.keep(grading, output)  # the next identical request replays it (runs/replay.py)
        summary.update(
            output=str(output), warnings=grading.warnings, seconds=round(time.perf_counter() - start, 3), replayed=False
        )
        return summary
    ws = Workspace.open(workspace)
    with writing(ws, "grade"):  # its inputs read and its run written with no other writer between
        files: dict[str, str | Path | None] = {name: given[name] or ws.data_location(name) for name in TABLE_NAMES}
        files["links"] = ws.data_dir / LINKS
        loaded = ws.policy(policy)
        taken = complaints_taken(ws, loaded.policy.inputs.offset)
        with text_options(delimiter, date_format):
            grading = _grade(
                engine or ws.setting("engine", "duckdb"),
                files,
                loaded,
                as_of,
                lang,
                say,
                maps,
                sheet,
                taken,
                before=lambda day: run_before(ws, day),
            )
        say("grading into a new run")
        held_back = None if publish is not None else later_current(ws, grading.as_of)
        chosen = publish if publish is not None else held_back is None
        replaced = current_run_id(ws) if chosen else None
        run = write_run(ws, grading, publish=chosen)
        summary = dict(run.manifest["summary"])
        if chosen:  # what the new run changed, for the owners' inboxes and the webhooks
            from tierkit.app.alerts import emit

            summary["alerts"] = emit(ws, replaced, run.run_id)
        summary.update(
            run_id=run.run_id,
            as_of=run.manifest["as_of"],
            published=chosen,
            warnings=grading.warnings,
            seconds=round(time.perf_counter() - start, 3),
        )
        if held_back is not None:
            summary["held_back"] = held_back
        return summary


def later_current(ws: Workspace, as_of: dt.date) -> dict[str, str] | None:
    """The current run, when it is as of a later date than `as_of` (else None)."""
    current = current_run_id(ws)
    if current is None:
        return None
    run = load_run(ws, current)
    if dt.date.fromisoformat(run.manifest["as_of"]) <= as_of:
        return None
    return {"current": current, "current_as_of": run.manifest["as_of"]}


def complaints_taken(ws: Workspace, offset_minutes: int) -> pa.Table | None:
    """Complaints taken through the card or the API, as interaction rows (kind `complaint`, the
    local date of each, resolved or not), so the next grading counts them."""
    import pyarrow as pa

    from tierkit.store import complaints

    taken = complaints.every(store_of(ws))
    if not taken:
        return None
    shift = dt.timedelta(minutes=offset_minutes)
    return pa.table(
        {
            "interaction_id": [f"tierkit-complaint-{c.id}" for c in taken],
            "customer_id": [c.customer_id for c in taken],
            "at": pa.array([(c.at + shift).date() for c in taken], pa.date32()),
            "kind": ["complaint"] * len(taken),
            "channel": [c.channel for c in taken],
            "topic": [c.topic for c in taken],
            "resolved": [c.status == "resolved" for c in taken],
        }
    )


def export(workspace: Path | None, run_ref: str | None, output: Path, tier: str | None = None) -> int:
    """A run's result (or one tier of it) as a file; the number of rows written. For the published
    run, tiers are the tiers in effect (overrides applied), with the graded tier beside them."""
    output_format(output)
    ws = Workspace.open(workspace)
    run = load_run(ws, run_ref)
    manual = manual_tiers(ws, run) if run.run_id == current_run_id(ws) else None
    lang = ws.setting("lang", DEFAULT_LANG)
    policy = run_policy(run)
    labels = tier_labels(policy, run.manifest.get("tiers") or [], lang)
    readable = Readable(policy, run.manifest.get("tiers") or [], lang, run.manifest.get("value_metric"), people_of(ws))
    return convert_parquet(run.result, output, tier=tier, manual=manual, labels=labels, readable=readable)


def people_of(ws: Workspace) -> pa.Table | None:
    """customer_id, name and phone from the workspace's customers (an export by staff shows them)."""
    source = ws.data_file("customers")
    if source is None:
        return None
    from tierkit.tables.readers import read_table

    backend = connect("duckdb")
    customers = read_table(backend, "customers", source)
    wanted = {c: customers.value(customers.table, c).cast("string") for c in ("customer_id", "name", "phone")}
    return backend.to_pyarrow(customers.table.select(**wanted))


def grade(
    orders: str | Path,
    *,
    policy: str | Path | LoadedPolicy = "retail",
    as_of: str | dt.date,
    customers: str | Path | None = None,
    interactions: str | Path | None = None,
    contacts: str | Path | None = None,
    engine: str | Backend = "duckdb",
    lang: str = DEFAULT_LANG,
    maps: dict[str, str] | None = None,
    sheet: str | None = None,
    previous: str | Path | None = None,
) -> GradedResult:
    """Grade customers from files with a policy (a preset name, a YAML path, or a loaded policy).
    `previous`: the result file (Parquet) of the grading before, for the policy's `stability:`.

    >>> result = grade("orders.csv", policy="retail", as_of="2024-06-30")  # doctest: +SKIP
    >>> result.table  # one row per customer, as a pyarrow.Table          # doctest: +SKIP
    """
    loaded = policy if isinstance(policy, LoadedPolicy) else load_policy(policy)
    eng = engine if isinstance(engine, Backend) else connect(engine)
    inputs = read_inputs(eng, orders, customers, interactions, contacts, loaded.policy.inputs, maps, sheet)
    prior = eng.read_parquet(Path(previous)) if previous is not None else None
    return GradedResult.of(grade_inputs(inputs, loaded, parse_as_of(as_of), eng, lang, prior))
