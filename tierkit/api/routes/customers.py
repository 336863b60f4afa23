"""/customers: the card at contact time, lists with filters, exports, overrides and contact logs."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from tierkit.api.deps import ALL, STAFF, ServiceDep, UserDep, allow
from tierkit.api.masking import MASKS, masked
from tierkit.api.schemas import (
    AgentCard,
    ContactIn,
    ContactOut,
    CustomerPage,
    ListItem,
    MaskedPerson,
    OverrideIn,
    OverrideInfo,
    Person,
    StaffCard,
    Tag,
)
from tierkit.api.service import Service, Snapshot
from tierkit.policy.labels import score_columns, tier_labels
from tierkit.runs.card import card_from_row
from tierkit.runs.output import convert_parquet, parquet_source
from tierkit.store import contacts as contact_log
from tierkit.store import overrides as override_store

router = APIRouter(prefix="/customers", tags=["customers"])
MASKED_FIELDS = {"name", "phone", "email", "id_number"}
MAX_PAGE = 500


def _card(service: Service, snapshot: Snapshot, customer_id: str, role: str) -> StaffCard | AgentCard:
    row = snapshot.table.find(customer_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"customer '{customer_id}' is not in run {snapshot.run.run_id}")
    card = card_from_row(snapshot.run, snapshot.policy, row, service.settings.lang)
    manual = service.overrides().get(customer_id)
    if manual is not None and manual.expires <= dt.datetime.now(dt.UTC):
        manual = None  # expired since the cache was filled
    automatic = str(card["tier"])
    if manual is not None:
        card["tier"], card["tier_label"] = manual.tier, _label(snapshot, manual.tier, service.settings.lang)
    person = service.person(customer_id)
    fields: dict[str, Any] = {
        **card,
        "automatic_tier": automatic,
        "manual": manual is not None,
        "override": OverrideInfo(
            tier=manual.tier, reason=manual.reason, expires=manual.expires, by=manual.created_by, at=manual.created_at
        )
        if manual
        else None,
        "tags": [Tag(name=t, action=card["tag_actions"].get(t)) for t in card["tags"]],
        "last_contacted": service.last_contacted(customer_id),
        "reasons": _plain(card["reasons"]),
        "metrics": _plain(card["metrics"]),
        "scores": _plain(card["scores"]),
    }
    if role == "agent":
        hidden = masked(person)
        return AgentCard(**fields, person=MaskedPerson(**hidden) if hidden else None)
    return StaffCard(**fields, person=Person(**person) if person else None)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _label(snapshot: Snapshot, tier: str, lang: str) -> str:

    return tier_labels(snapshot.policy, snapshot.run.manifest.get("tiers") or [], lang).get(tier, tier)


@router.get("/{customer_id}", response_model=StaffCard | AgentCard, **allow(*ALL))
def customer_card(customer_id: str, user: UserDep, service: ServiceDep) -> Response:
    """The card at contact time: tier (manual or not), scores, tags with actions, service and reasons."""
    snapshot = service.snapshot()
    card = _card(service, snapshot, customer_id, user.role)
    service.audit.record(user.name, user.role, "view_card", customer_id, snapshot.run.run_id)
    # the model is built and checked once, by us; FastAPI would validate it again on the way out
    return Response(card.model_dump_json(), media_type="application/json")


Filters = dict[str, str | None]


def _where(snapshot: Snapshot, filters: Filters, service: Service) -> tuple[str, list[Any]]:
    """SQL conditions on the run (tier after overrides) for the list and export filters."""
    clauses: list[str] = ["TRUE"]
    params: list[Any] = []
    columns = set(snapshot.table.table.column_names)
    if filters.get("tier"):
        clauses.append("coalesce(o.tier, r.tier) = ?")
        params.append(filters["tier"])
    if filters.get("tag"):
        clauses.append("list_contains(string_split(coalesce(r.tags, ''), ','), ?)")
        params.append(filters["tag"])
    for name, suffix in (("segment", "_segment"), ("grid_cell", "_cell")):
        if filters.get(name):
            column = next((c for c in score_columns(snapshot.policy) if c.endswith(suffix) and c in columns), None)
            if column is None:
                raise HTTPException(
                    status.HTTP_400_BAD_REQUEST, f"run {snapshot.run.run_id} has no {name} to filter on"
                )
            clauses.append(f'CAST(r."{column}" AS VARCHAR) = ?')
            params.append(filters[name])
    if filters.get("phone") or filters.get("name"):
        ids = _ids_by_person(service, filters)
        clauses.append("r.customer_id IN (SELECT unnest(?))")
        params.append(ids)
    return " AND ".join(clauses), params


def _ids_by_person(service: Service, filters: Filters) -> list[str]:
    people = service._people()
    if people is None:
        return []
    import pyarrow.compute as pc

    table = people.table
    mask = None
    for field in ("phone", "name"):
        if filters.get(field) and field in table.column_names:
            hit = pc.equal(table[field], filters[field])
            mask = hit if mask is None else pc.and_(mask, hit)
    return [] if mask is None else table.filter(mask)["customer_id"].to_pylist()


def _query(
    snapshot: Snapshot, service: Service, filters: Filters, sort: str
) -> tuple[duckdb.DuckDBPyConnection, str, list[Any]]:
    con = duckdb.connect()
    active = service.overrides()
    con.execute("CREATE TABLE o (customer_id VARCHAR, tier VARCHAR)")
    if active:
        con.executemany("INSERT INTO o VALUES (?, ?)", [(k, v.tier) for k, v in active.items()])
    where, params = _where(snapshot, filters, service)
    source = f"FROM {parquet_source(snapshot.run.result)} r LEFT JOIN o USING (customer_id) WHERE {where}"
    return con, source, params


SortField = Literal["customer_id", "tier"]  # never personal data: nobody sorts or pages by phone


@dataclass
class ListFilters:
    """Filters shared by lists and exports; `tier` is the tier after overrides."""

    tier: str | None = None
    tag: str | None = None
    segment: str | None = None
    grid_cell: str | None = None


FiltersDep = Annotated[ListFilters, Depends()]


@router.get("", response_model=CustomerPage, **allow(*ALL))
def list_customers(
    user: UserDep,
    service: ServiceDep,
    chosen: FiltersDep,
    phone: Annotated[str | None, Query(max_length=40, description="Staff only")] = None,
    name: Annotated[str | None, Query(max_length=100, description="Staff only")] = None,
    sort: SortField = "customer_id",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> CustomerPage:
    """Customers of the current run, filtered, in pages: `{"items": [...], "total": N}`."""
    if user.role == "agent" and (phone or name):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "agents cannot search on personal data")
    snapshot = service.snapshot()
    if phone or name:  # a search by personal data says who has it: keep a trace, masked
        shown = {k: MASKS[k](v) for k, v in (("phone", phone), ("name", name)) if v}
        service.audit.record(user.name, user.role, "search", "customers", json.dumps(shown, ensure_ascii=False))
    filters: Filters = {**asdict(chosen), "phone": phone, "name": name}
    con, source, params = _query(snapshot, service, filters, sort)
    total = con.execute(f"SELECT count(*) {source}", params).fetchone()[0]  # type: ignore[index]
    order = "coalesce(o.tier, r.tier), r.customer_id" if sort == "tier" else "r.customer_id"
    cursor = con.execute(
        f"SELECT r.*, o.tier AS __manual {source} ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset]
    )
    names = [d[0] for d in cursor.description or []]
    score_cols = [c for c in score_columns(snapshot.policy) if c in names]
    items = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        tier_value = row["__manual"] or row["tier"]
        items.append(
            ListItem(
                customer_id=row["customer_id"],
                tier=tier_value,
                tier_label=_label(snapshot, tier_value, service.settings.lang),
                manual=row["__manual"] is not None,
                tags=[t for t in str(row.get("tags") or "").split(",") if t],
                scores=_plain({c: row[c] for c in score_cols}),
            )
        )
    return CustomerPage(items=items, total=int(total), limit=limit, offset=offset, run_id=snapshot.run.run_id)


@router.get("/export/{fmt}", **allow(*STAFF))
def export_customers(
    fmt: Literal["csv", "xlsx"],
    user: UserDep,
    service: ServiceDep,
    chosen: FiltersDep,
) -> FileResponse:
    """The filtered list as CSV or XLSX (formula-like text escaped); written to the audit log."""
    snapshot = service.snapshot()
    filters: Filters = asdict(chosen)
    con, source, params = _query(snapshot, service, filters, "customer_id")
    folder = Path(tempfile.mkdtemp(prefix="tierkit-export-"))
    scratch = folder / "list.parquet"
    labels = {str(t): _label(snapshot, str(t), service.settings.lang) for t in snapshot.run.manifest.get("tiers") or []}
    con.execute("CREATE TABLE labels (tier VARCHAR, label VARCHAR)")
    if labels:
        con.executemany("INSERT INTO labels VALUES (?, ?)", list(labels.items()))
    label = "coalesce((SELECT label FROM labels l WHERE l.tier = o.tier), r.tier_label)"
    select = f"r.* REPLACE (coalesce(o.tier, r.tier) AS tier, {label} AS tier_label), o.tier IS NOT NULL AS manual"
    con.execute(f"COPY (SELECT {select} {source} ORDER BY r.customer_id) TO '{scratch}' (FORMAT parquet)", params)
    target = folder / f"customers-{snapshot.run.run_id}.{fmt}"
    count = convert_parquet(scratch, target, fmt)
    detail = json.dumps({"run": snapshot.run.run_id, "filters": {k: v for k, v in filters.items() if v}, "rows": count})
    service.audit.record(user.name, user.role, "export", f"customers.{fmt}", detail, now=True)
    media = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    import shutil

    return FileResponse(
        target, media_type=media, filename=target.name, background=BackgroundTask(shutil.rmtree, folder, True)
    )


@router.post("/{customer_id}/override", response_model=StaffCard, status_code=201, **allow(*STAFF))
def override_tier(customer_id: str, body: OverrideIn, user: UserDep, service: ServiceDep) -> StaffCard | AgentCard:
    """Set a customer's tier by hand, with a reason and an expiry; it wins until it expires."""
    snapshot = service.snapshot()
    if snapshot.table.find(customer_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"customer '{customer_id}' is not in run {snapshot.run.run_id}")
    tiers = [str(t) for t in snapshot.run.manifest.get("tiers") or []]
    if tiers and body.tier not in tiers:
        raise HTTPException(422, f"'{body.tier}' is not a tier (tiers: {', '.join(tiers)})")
    expires = body.expires if body.expires.tzinfo else body.expires.replace(tzinfo=dt.UTC)
    if expires <= dt.datetime.now(dt.UTC):
        raise HTTPException(422, "expires must be in the future")
    override_store.set_override(service.store, customer_id, body.tier, body.reason, expires, user.name)
    service.forget_overrides()
    detail = json.dumps({"tier": body.tier, "reason": body.reason, "expires": expires.isoformat()}, ensure_ascii=False)
    service.audit.record(user.name, user.role, "override", customer_id, detail, now=True)
    return _card(service, snapshot, customer_id, user.role)


@router.post("/{customer_id}/contacts", response_model=ContactOut, status_code=201, **allow(*ALL))
def log_contact(customer_id: str, body: ContactIn, user: UserDep, service: ServiceDep, request: Request) -> ContactOut:
    """Record that someone contacted the customer (the card shows when they last were)."""
    snapshot = service.snapshot()
    if snapshot.table.find(customer_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"customer '{customer_id}' is not in run {snapshot.run.run_id}")
    at = contact_log.log(service.store, customer_id, user.name, body.channel, body.note)
    service.forget_contacts()  # the next card here shows it at once
    service.audit.record(user.name, user.role, "contact", customer_id, body.channel)
    return ContactOut(customer_id=customer_id, at=at, by=user.name, channel=body.channel)
