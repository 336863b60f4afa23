"""`tierkit subject-export`: everything tierkit holds on one person (PIPL art. 45; GDPR art. 15).

One JSON document (UTF-8), its keys documented in docs/cli.md#subject-export: the person's
record ids (with those `tierkit link` joined to them), their imported rows of each table as
stored, their graded row in every run with the reasons in words and the tier history, and the
store's rows about them: overrides, manual tags, complaints, contacts logged, entitlement uses,
alerts, owner assignments and the audit entries naming them. Taking it is itself audited.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select

from tierkit.app.erasure_data import OWNERS, data_files, now_text
from tierkit.app.progress import Progress, silent
from tierkit.backends import connect
from tierkit.canonical import TABLES
from tierkit.errors import InputError, NotFoundError
from tierkit.ingest.identity.persons import LINKS
from tierkit.runs.card import run_policy
from tierkit.runs.files import current_run_id, list_runs, store_of
from tierkit.runs.reasons_full import full_reasons
from tierkit.runs.reasons_text import reasons_in_words
from tierkit.settings import DEFAULT_LANG
from tierkit.store import schema
from tierkit.store.audit import AuditLog
from tierkit.tables.readers import open_mapped
from tierkit.workspace import Workspace

STORE_TABLES = ("overrides", "manual_tags", "complaints", "contacts", "entitlement_uses", "alerts")
FORMAT = "tierkit-subject-export/1"


def plain(value: Any) -> Any:
    """A value as JSON holds it: dates and instants in ISO 8601, decimals as numbers."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def linked_ids(ws: Workspace, customer_id: str) -> list[str]:
    """The person's record ids: `customer_id`, and every record `tierkit link` put with it."""
    links = ws.data_dir / LINKS
    ids = {customer_id}
    if links.is_file():
        table = pq.read_table(links, columns=["customer_id", "person_id"]).to_pylist()
        persons = {r["person_id"] for r in table if customer_id in (r["customer_id"], r["person_id"])}
        ids |= {str(r["customer_id"]) for r in table if r["person_id"] in persons}
        ids |= {str(p) for p in persons if p is not None}
    return sorted(ids)


def sources(ws: Workspace, kind: str) -> list[Path]:
    """Every file holding `kind` rows: imported parts, then the data files tierkit.yaml or data/ has."""
    parts = sorted((ws.data_dir / kind).glob("*.parquet"))
    return [*parts, *(p for p, k in data_files(ws).items() if k == kind)]


def person_rows(ws: Workspace, kind: str, ids: list[str]) -> list[dict[str, Any]]:
    """The person's rows of one table in every file that holds it, as stored (canonical names;
    an import's `attributes` unpacked), each with `_file` (relative to the workspace)."""
    engine = connect("duckdb")
    found: list[dict[str, Any]] = []
    root = ws.root.resolve()
    for path in sources(ws, kind):
        mapped = open_mapped(engine, kind, path)
        raw = mapped.raw
        if "customer_id" not in raw.columns:
            continue
        rows = engine.to_pyarrow(raw.filter(raw.customer_id.cast("string").isin(ids))).to_pylist()
        shown = path.resolve().relative_to(root).as_posix() if path.resolve().is_relative_to(root) else str(path)
        for row in rows:
            attributes = row.pop("attributes", None)
            if isinstance(attributes, str):
                try:
                    row["attributes"] = json.loads(attributes)
                except ValueError:
                    row["attributes"] = attributes
            found.append({"_file": shown, **row})
    return found


def _store_rows(ws: Workspace, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    engine = store_of(ws)
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as con:
        for name in STORE_TABLES:
            table = schema.metadata.tables[name]
            order = table.c.get("at", table.c.get("created_at", table.c.id))
            query = select(table).where(table.c.customer_id.in_(ids)).order_by(order, table.c.id)
            found[name] = [dict(r._mapping) for r in con.execute(query)]
        audit = schema.audit
        query = select(audit).where(audit.c.target.in_(ids)).order_by(audit.c.at, audit.c.id)
        found["audit"] = [dict(r._mapping) for r in con.execute(query)]
    return found


def _runs(ws: Workspace, ids: list[str], lang: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(graded rows with their reasons in words, the tier history), oldest run first."""
    current = current_run_id(ws)
    published = {str(r["run_id"]) for r in _catalog(ws) if r.get("published_at")}
    graded: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for run in list_runs(ws):
        if not run.result.is_file():
            continue
        rows = pq.read_table(run.result, filters=[("customer_id", "in", ids)]).to_pylist()
        if not rows:
            continue
        policy = run_policy(run)
        tiers = [str(t) for t in run.manifest.get("tiers") or []]
        for row in rows:
            reasons_text = row.pop("reasons", None)
            try:
                reasons = full_reasons(reasons_text, row, policy) if reasons_text else {}
            except ValueError:
                reasons = {}
            words = reasons_in_words(policy, tiers, reasons, lang, str(row.get("tier"))) if reasons else []
            about = {
                "run_id": run.run_id,
                "as_of": run.manifest.get("as_of"),
                "published": run.run_id in published,
                "current": run.run_id == current,
            }
            graded.append({**about, "row": row, "reasons": words, "reasons_json": reasons})
            history.append(
                {
                    **about,
                    "customer_id": row.get("customer_id"),
                    "tier": row.get("tier"),
                    "tier_label": row.get("tier_label"),
                }
            )
    history.sort(key=lambda h: (str(h["as_of"]), h["run_id"]))
    return graded, history


def _current(graded: list[dict[str, Any]], overrides: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The current run's entry, with the tier in effect: an override in force wins (the latest)."""
    found = next((g for g in graded if g["current"]), None)
    if found is None:
        return None
    now = dt.datetime.now(dt.UTC)
    active = [
        o for o in overrides if (o["expires"] if o["expires"].tzinfo else o["expires"].replace(tzinfo=dt.UTC)) > now
    ]
    chosen = max(active, key=lambda o: (o["created_at"], o["id"]), default=None)
    tier = chosen["tier"] if chosen else found["row"].get("tier")
    return {**found, "tier_in_effect": tier, "override": chosen}


def _catalog(ws: Workspace) -> list[dict[str, Any]]:
    from tierkit.store import catalog

    return catalog.catalog(store_of(ws))


def _owners(ws: Workspace, ids: list[str]) -> list[dict[str, Any]]:
    path = ws.data_dir / OWNERS
    if not path.is_file():
        return []
    return pq.read_table(path, filters=[("customer_id", "in", ids)]).to_pylist()


def subject_export(
    workspace: Path | None,
    customer_id: str,
    output: Path | None = None,
    by: str | None = None,
    lang: str | None = None,
    progress: Progress = silent,
) -> dict[str, Any]:
    """Everything the workspace holds on the person; written to `output` (JSON, UTF-8) when given."""
    ws = Workspace.open(workspace)
    customer_id = customer_id.strip()
    if not customer_id:
        raise InputError("give the customer's id")
    if output is not None and output.is_dir():
        raise InputError(f"{output}: is a folder; give a file name such as {output / 'subject.json'}")
    chosen = lang or ws.setting("lang", DEFAULT_LANG)
    ids = linked_ids(ws, customer_id)
    progress("reading the imported data")
    data = {kind: person_rows(ws, kind, ids) for kind in TABLES}
    progress("reading the runs")
    graded, history = _runs(ws, ids, chosen)
    progress("reading the store")
    stored = _store_rows(ws, ids)
    owners = _owners(ws, ids)
    if not any(data.values()) and not graded and not any(stored.values()) and not owners:
        raise NotFoundError(f"customer '{customer_id}': tierkit holds nothing on them in {ws.root}")
    from tierkit.app.erased import digest, load

    erased = load(ws)
    document = {
        "format": FORMAT,
        "customer_id": customer_id,
        "records": ids,
        "generated_at": now_text(),
        "workspace": str(ws.root),
        "erased": any(digest(erased["salt"], i) in set(erased["ids"]) for i in ids),
        "data": data,
        "runs": graded,
        "current": _current(graded, stored["overrides"]),
        "tier_history": history,
        "overrides": stored["overrides"],
        "manual_tags": stored["manual_tags"],
        "complaints": stored["complaints"],
        "contacts_logged": stored["contacts"],
        "entitlement_uses": stored["entitlement_uses"],
        "alerts": stored["alerts"],
        "owners": owners,
        "audit": stored["audit"],
    }
    document = plain(document)
    counts: dict[str, Any] = {k: len(v) for k, v in document.items() if isinstance(v, list) and k != "records"}
    counts["data"] = {k: len(v) for k, v in data.items()}
    log = AuditLog(store_of(ws))
    try:
        detail = json.dumps({"records": len(ids), "output": bool(output)}, ensure_ascii=False)
        log.record(by or _who(), "cli", "subject_export", customer_id, detail, now=True)
    finally:
        log.close()
    if output is not None:
        from tierkit.runs.output import atomic_path

        with atomic_path(output) as temporary:
            temporary.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return {"document": document, "counts": counts, "output": str(output) if output else None}


def _who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
