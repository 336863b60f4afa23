"""Care lists: the customers of a tier whose birthday falls in a month (生日祝福 for VIPs).

The seeds ask for birthday wishes and holiday gifts for VIP客户 (seed 001: "对于VIP客户, 可以
提供专属客服、生日祝福、节日礼品等"). The list is read from the published run, with the tier in
effect (a person's override while it lasts, as every list and card shows it), and the birth dates
from the workspace's customers file, so a birth date corrected there is right in the next list
without grading again. Name and phone are for staff only (the command line is staff); the list
is sorted by day of the month, then customer, as someone working through it calls.

A birthday on 29 February falls on the 28th in a year without one, as in the rule language's
`days_until_birthday` (see `tierkit.engine.dates`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from tierkit.app.customers import Caller
from tierkit.backends import connect
from tierkit.errors import InputError, WorkspaceError, did_you_mean
from tierkit.policy.labels import tier_labels
from tierkit.runs.card import run_policy
from tierkit.runs.effect import MANUAL, tier_in_effect, with_manual
from tierkit.runs.files import load_run, store_of
from tierkit.runs.output import convert_parquet
from tierkit.runs.overrides import manual_tiers
from tierkit.settings import DEFAULT_LANG
from tierkit.tables.readers import read_table
from tierkit.workspace import Workspace

STAFF = ("admin", "analyst")
PERSONAL = ("name", "phone")
ALL = "all"
COLUMNS = ("customer_id", "day", "birth_date", "turns", "tier", "tier_label", "manual", "automatic_tier", *PERSONAL)


def parse_month(text: str | None, today: dt.date | None = None) -> tuple[int, int]:
    """'2026-07' -> (2026, 7); None is this month."""
    if text is None:
        now = today or dt.date.today()
        return now.year, now.month
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InputError(f"--month: '{text}' is not a month like 2026-07")
    return int(match.group(1)), int(match.group(2))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birthdays(
    workspace: Path | None,
    month: str | None,
    tier: str | None,
    caller: Caller,
    lang: str = DEFAULT_LANG,
) -> dict[str, Any]:
    """The published run's customers in `tier` (in effect; default: the policy's top tier; 'all'
    for every tier) whose birthday is in `month`: `{run_id, as_of, month, tier, items}`, each item
    with the day, the age they turn, the tier and its label, and name and phone for staff."""
    year, number = parse_month(month)
    ws = Workspace.open(workspace)
    run = load_run(ws)
    tiers = [str(t) for t in run.manifest.get("tiers") or []]
    wanted = tier or (tiers[0] if tiers else ALL)
    if wanted != ALL and wanted not in tiers:
        raise InputError(f"--tier: '{wanted}' is not a tier{did_you_mean(wanted, tiers)} (tiers: {', '.join(tiers)})")
    source = ws.data_file("customers")
    if source is None:
        raise WorkspaceError(f"{ws.root}: no customers file (data/customers.csv) to read birth dates from")
    backend = connect("duckdb")
    customers = read_table(backend, "customers", source)
    if "birth_date" not in customers.present:
        raise InputError(f"{customers.path}: no column birth_date, so no birthdays to list")
    staff = caller.role in STAFF
    personal = [c for c in PERSONAL if staff and c in customers.present]
    people = customers.table.select("customer_id", "birth_date", *personal)
    rows = with_manual(backend.read_parquet(run.result), manual_tiers(ws, run))
    graded = rows.select(
        "customer_id", tier=tier_in_effect(rows), automatic_tier=rows.tier.cast("string"), manual=rows[MANUAL].notnull()
    )
    joined = graded.join(people, "customer_id")
    born = joined.birth_date
    feb29 = (born.month() == 2) & (born.day() == 29)
    day = born.day() if _leap(year) else ibis.ifelse(feb29, 28, born.day())
    chosen = joined.filter(born.month() == number, *([joined.tier == wanted] if wanted != ALL else []))
    listed = chosen.select(
        "customer_id",
        "tier",
        "manual",
        "automatic_tier",
        *personal,
        day=day.cast("int64"),
        birth_date=born,
        turns=(year - born.year()).cast("int64"),
    ).order_by(["day", "customer_id"])
    labels = tier_labels(run_policy(run), tiers, lang)
    items = []
    for row in backend.to_pyarrow(listed).to_pylist():
        row["birth_date"] = row["birth_date"].isoformat()
        row["tier_label"] = labels.get(row["tier"], row["tier"])
        items.append({c: row[c] for c in COLUMNS if c in row})
    if personal:
        detail = json.dumps({"run": run.run_id, "month": f"{year}-{number:02d}", "tier": wanted, "rows": len(items)})
        _audit(ws, caller, detail)
    return {
        "run_id": run.run_id,
        "as_of": run.manifest.get("as_of"),
        "month": f"{year}-{number:02d}",
        "tier": wanted,
        "items": items,
    }


def _audit(ws: Workspace, caller: Caller, detail: str) -> None:
    """A list with names and phones leaves the system like an export: it is written to the audit log."""
    from tierkit.store.audit import AuditLog

    log = AuditLog(store_of(ws))
    try:
        log.record(caller.name, caller.role, "export", "birthdays", detail, now=True)
    finally:
        log.close()


def write_list(listed: dict[str, Any], path: Path) -> int:
    """The list as CSV or XLSX (by the file's suffix; text that looks like a formula escaped)."""
    items = listed["items"]
    columns = [c for c in COLUMNS if not items or c in items[0]]
    table = pa.Table.from_pylist([{c: item.get(c) for c in columns} for item in items])
    if not items:
        table = pa.table({c: pa.array([], pa.string()) for c in columns})
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder) / "list.parquet"
        pq.write_table(table, scratch)
        return convert_parquet(scratch, path)
