"""Customers of the served run as use cases: the card, lists and exports, overrides, contacts.

What the REST API and the web workbench both call; the tier in effect (a person's override
while it lasts, else the graded tier) decides label and list membership. Personal data is
masked here for agents, and every card view, search, export, override and contact is
audited here, so no front end can forget either. Lists are Ibis expressions over the run's
result file, run on an in-process DuckDB backend (one per call: connections are per thread).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tierkit.app.instants import future_instant
from tierkit.app.masking import MASKS, agent_view, masked
from tierkit.app.serving import ServedWorkspace, Snapshot
from tierkit.backends import connect
from tierkit.errors import NotAllowedError, NotFoundError, RequestError, ValueRefusedError
from tierkit.json_values import plain
from tierkit.policy.labels import score_columns, tier_labels
from tierkit.runs.card import card_from_row
from tierkit.store import contacts as contact_log
from tierkit.store import overrides as override_store

if TYPE_CHECKING:  # a card is a lookup: lists and exports (Ibis on DuckDB) import what they run
    import ibis.expr.types as ir

    from tierkit.backends import Backend

Sort = Literal["customer_id", "tier"]  # never personal data: nobody sorts or pages by phone
FULL_PHONE = re.compile(r"^(\+?86)?1\d{10}$")
PHONE_LOOKUPS_PER_MINUTE = 30  # an agent takes calls; a script walking the numbers is refused


@dataclass(frozen=True)
class Caller:
    """Who asks: their name (for the audit log) and role (admin, analyst, agent)."""

    name: str
    role: str


@dataclass
class Filters:
    """Filters shared by lists and exports; `tier` is the tier in effect (after overrides);
    `phone` and `name` search the customers' personal data (staff only)."""

    tier: str | None = None
    tag: str | None = None
    segment: str | None = None
    grid_cell: str | None = None
    phone: str | None = None
    name: str | None = None
    customer_ids: tuple[str, ...] | None = None  # found by a search (an id, or a name's pinyin)


def _label(snapshot: Snapshot, tier: str, lang: str) -> str:
    return tier_labels(snapshot.policy, snapshot.run.manifest.get("tiers") or [], lang).get(tier, tier)


def resolve_id(served: ServedWorkspace, snapshot: Snapshot, customer_id: str) -> tuple[str, str | None]:
    """The id the run knows a customer by: a source id that `tierkit link` folded into a person
    finds that person (with a note saying so); any other id is itself."""
    if snapshot.table.has(customer_id):
        return customer_id, None
    person = served.person_of(customer_id)
    if person is None or not snapshot.table.has(person):
        return customer_id, None
    return person, f"{customer_id} is linked to {person} (tierkit link): this is that person's card"


def graded_row(snapshot: Snapshot, customer_id: str) -> dict[str, Any]:
    row = snapshot.table.find(customer_id)
    if row is None:
        near = snapshot.table.near(customer_id)
        hint = f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
        raise NotFoundError(f"customer '{customer_id}' is not in run {snapshot.run.run_id}{hint}")
    return row


def _manual(served: ServedWorkspace, customer_id: str) -> Any:
    """The override in force for a customer, or None (one that expired since the cache was filled
    is none)."""
    manual = served.overrides().get(customer_id)
    if manual is not None and manual.expires <= dt.datetime.now(dt.UTC):
        return None
    return manual


def build_card(
    served: ServedWorkspace, snapshot: Snapshot, customer_id: str, role: str, lang: str | None = None
) -> dict[str, Any]:
    """The card: tier in effect (its label and service) with the graded one beside it, the
    override, tags with their actions, metrics, reasons, last contact, and the person (masked for
    agents), in the workspace's language unless the caller asks for another."""
    manual = _manual(served, customer_id)
    row = graded_row(snapshot, customer_id)
    # an agent's card masks every value the policy derives from a personal field (a rule on name)
    reader = agent_view(snapshot.policy) if role == "agent" else None
    card = card_from_row(
        snapshot.run, snapshot.policy, row, lang or served.settings.lang, manual.tier if manual else None, reader
    )
    person = served.person(customer_id)
    override = (
        {"tier": manual.tier, "reason": manual.reason, "expires": manual.expires, "by": manual.created_by}
        | {"at": manual.created_at}
        if manual
        else None
    )
    return {
        **card,
        "override": override,
        "last_contacted": served.last_contacted(customer_id),
        "reasons": plain(card["reasons"]),
        "metrics": plain(card["metrics"]),
        "scores": plain(card["scores"]),
        "person": masked(person) if role == "agent" else person,
    }


def _ids_by_person(served: ServedWorkspace, filters: Filters) -> list[str]:
    import pyarrow.compute as pc

    people = served.people()
    if people is None:
        return []
    table = people.table
    mask = None
    for field in ("phone", "name"):
        wanted = getattr(filters, field)
        if wanted and field in table.column_names:
            hit = pc.equal(table[field], wanted)
            mask = hit if mask is None else pc.and_(mask, hit)
    return [] if mask is None else table.filter(mask)["customer_id"].to_pylist()


def _in_effect(served: ServedWorkspace, snapshot: Snapshot, backend: Backend, filters: Filters) -> ir.Table:
    """The run's rows with `__manual` (the override's tier, or NULL), filtered as asked."""
    from tierkit.runs.effect import tier_in_effect, with_manual

    active = served.overrides()
    joined = with_manual(backend.read_parquet(snapshot.run.result), {k: o.tier for k, o in active.items()})
    tier = tier_in_effect(joined)
    tests: list[ir.BooleanValue] = []
    if filters.tier:
        tests.append(tier == filters.tier)
    if filters.tag:  # graded, or given by a person (by the tag's name)
        given = sorted(cid for cid, tags in served.manual_tags().items() if any(t.tag == filters.tag for t in tags))
        graded = joined.tags.fill_null("").split(",").contains(filters.tag)
        tests.append(graded | joined.customer_id.isin(given) if given else graded)
    for name, suffix in (("segment", "_segment"), ("grid_cell", "_cell")):
        wanted = getattr(filters, name)
        if wanted:
            column = next(
                (c for c in score_columns(snapshot.policy) if c.endswith(suffix) and c in joined.columns), None
            )
            if column is None:
                raise RequestError(f"run {snapshot.run.run_id} has no {name} to filter on")
            tests.append(joined[column].cast("string") == wanted)
    if filters.phone or filters.name:
        tests.append(joined.customer_id.isin(_ids_by_person(served, filters)))
    if filters.customer_ids is not None:
        tests.append(joined.customer_id.isin(list(filters.customer_ids)))
    return joined.filter(*tests) if tests else joined


def customers(
    served: ServedWorkspace,
    filters: Filters,
    caller: Caller,
    sort: Sort = "customer_id",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """A page of the current run's customers: `{items, total, limit, offset, run_id}`."""
    from tierkit.runs.effect import MANUAL, tier_in_effect

    if caller.role == "agent" and filters.name:
        raise NotAllowedError("agents cannot search on personal data")
    if caller.role == "agent" and filters.phone:  # the caller's number at contact time: exact, rationed
        if not FULL_PHONE.match(filters.phone):
            raise NotAllowedError("agents look a customer up by a full phone number only (11 digits)")
        served.ration(caller.name, "phone", PHONE_LOOKUPS_PER_MINUTE)
    snapshot = served.snapshot()
    if filters.phone or filters.name:  # a search by personal data says who has it: keep a trace, masked
        shown = {k: MASKS[k](v) for k, v in (("phone", filters.phone), ("name", filters.name)) if v}
        served.audit.record(caller.name, caller.role, "search", "customers", json.dumps(shown, ensure_ascii=False))
    backend = connect("duckdb")
    rows = _in_effect(served, snapshot, backend, filters)
    total = backend.execute_scalar(rows.count())
    tier = tier_in_effect(rows)
    order = [tier, rows.customer_id] if sort == "tier" else [rows.customer_id]
    score_cols = [c for c in score_columns(snapshot.policy) if c in rows.columns]
    page = rows.select("customer_id", "tier", "tags", MANUAL, *score_cols).order_by(order).limit(limit, offset=offset)
    items = []
    for row in backend.to_pyarrow(page).to_pylist():
        in_effect = row[MANUAL] or row["tier"]
        items.append(
            {
                "customer_id": row["customer_id"],
                "tier": in_effect,
                "tier_label": _label(snapshot, in_effect, served.settings.lang),
                "manual": row[MANUAL] is not None,
                "tags": [t for t in str(row.get("tags") or "").split(",") if t],
                "scores": plain({c: row[c] for c in score_cols}),
            }
        )
    return {"items": items, "total": int(total), "limit": limit, "offset": offset, "run_id": snapshot.run.run_id}


def export(served: ServedWorkspace, filters: Filters, fmt: str, folder: Path, caller: Caller) -> tuple[Path, int]:
    """The filtered list as a file in `folder` (CSV or XLSX, formula-like text escaped), with the
    tier in effect and its label, and `manual`; audited. Returns the file and its row count."""
    from tierkit.runs.effect import as_listed
    from tierkit.runs.output import convert_parquet
    from tierkit.runs.workbook import Readable

    snapshot = served.snapshot()
    backend = connect("duckdb")
    rows = _in_effect(served, snapshot, backend, filters)
    labels = {str(t): _label(snapshot, str(t), served.settings.lang) for t in snapshot.run.manifest.get("tiers") or []}
    listed = as_listed(rows, labels)
    scratch = folder / "list.parquet"
    backend.write_parquet(listed.order_by("customer_id"), scratch)
    target = folder / f"customers-{snapshot.run.run_id}.{fmt}"
    directory = served.people()
    people = None
    if directory is not None and {"name", "phone"} <= set(directory.table.column_names):
        people = directory.table.select(["customer_id", "name", "phone"])  # staff only: the route admits no agent
    tiers = [str(t) for t in snapshot.run.manifest.get("tiers") or []]
    value = snapshot.run.manifest.get("value_metric")
    readable = Readable(snapshot.policy, tiers, served.settings.lang, value, people)
    count = convert_parquet(scratch, target, fmt, readable=readable)
    chosen = {k: v for k, v in asdict(filters).items() if v}
    detail = json.dumps({"run": snapshot.run.run_id, "filters": chosen, "rows": count})
    served.audit.record(caller.name, caller.role, "export", f"customers.{fmt}", detail, now=True)
    return target, count


def override(
    served: ServedWorkspace,
    customer_id: str,
    tier: str,
    reason: str,
    expires: dt.datetime,
    caller: Caller,
    key: str | None = None,
) -> dict[str, Any]:
    """Set a customer's tier by hand, with a reason and an expiry; it wins until it expires.
    Returns the card as the caller sees it now. `key`: the client's Idempotency-Key (a retry
    under it sets nothing new; tierkit.store.idempotency)."""
    snapshot = served.snapshot()
    graded_row(snapshot, customer_id)
    tiers = [str(t) for t in snapshot.run.manifest.get("tiers") or []]
    if tiers and tier not in tiers:
        raise ValueRefusedError(f"'{tier}' is not a tier (tiers: {', '.join(tiers)})")
    expires = future_instant(expires)  # the client's offset converted; past or absurd dates refused
    override_store.set_override(served.store, customer_id, tier, reason, expires, caller.name, key)
    served.forget_overrides()
    detail = json.dumps({"tier": tier, "reason": reason, "expires": expires.isoformat()}, ensure_ascii=False)
    served.audit.record(caller.name, caller.role, "override", customer_id, detail, now=True)
    return build_card(served, snapshot, customer_id, caller.role)


def log_contact(
    served: ServedWorkspace,
    customer_id: str,
    channel: str,
    note: str | None,
    caller: Caller,
    outcome: str | None = None,
    key: str | None = None,
) -> dt.datetime:
    """Record that someone contacted the customer, and what came of it; the next card shows it.
    `key`: the client's Idempotency-Key (a retry under it logs nothing new, and answers the
    first contact's instant; tierkit.store.idempotency)."""
    snapshot = served.snapshot()
    graded_row(snapshot, customer_id)
    at = contact_log.log(served.store, customer_id, caller.name, channel, note, outcome, key)
    served.forget_contacts()
    served.audit.record(caller.name, caller.role, "contact", customer_id, channel)
    return at
