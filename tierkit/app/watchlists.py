"""Watchlists: who may leave, who fell a tier since the run before, who complains or pays late.

Why one module the front ends call: the workbench's Watchlists page, its exports and any other
front end must agree on who is on each list, in which order and with which tier (the tier in
effect: a person's override wins, as on the card). Each list is one Ibis expression over the
published run's result file (moved_down: joined with the run before it by as-of date), run on
an in-process DuckDB backend; only a page of rows and the count come back to Python, and an
export is written by the engine. A list the policy or the history cannot support says so
(`available: False` and a note in words) rather than showing an empty or made-up list. No list
selects personal data, so agents may read them; exports are for staff, and audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from tierkit.app.customers import Caller
from tierkit.app.serving import ServedWorkspace, Snapshot
from tierkit.app.tags import policy_name
from tierkit.backends import Backend, connect
from tierkit.errors import NotAllowedError, RequestError
from tierkit.models.churn_signals import catalogue
from tierkit.policy.kinds import shown
from tierkit.policy.labels import tag_labels, tier_labels
from tierkit.policy.model import MetricSpec
from tierkit.runs.card import run_policy
from tierkit.runs.effect import tier_in_effect, with_manual
from tierkit.runs.files import Run
from tierkit.runs.output import convert_parquet, scratch_path
from tierkit.runs.workbook import Readable

FLAG_GROUPS = ("complaint", "credit")  # tag groups (policy tag_groups) of complaints, and of arrears / late payment
FORMATS = ("csv", "xlsx")
MONEY = "decimal(38, 2)"
NOTES = {
    "no_churn": {
        "zh": "当前评级策略没有流失风险指标（churn: risk），无法按流失风险列出客户；在策略中加入后重新评级即可",
        "en": "The policy has no churn risk metric ({churn: risk, horizon: 90D}); add one and grade again "
        "to list customers by churn risk",
    },
    "one_run": {
        "zh": "没有更早评估日期的评级可比较，无法列出降级客户；按更早的评估日期再评级一次即可",
        "en": "There is no run with an earlier as-of date to compare with; grade an earlier as-of date "
        "to list who moved down",
    },
    "no_flags": {
        "zh": "当前评级策略没有投诉或欠费/信用类标签（标签分组 complaint、credit），无法列出需关注客户",
        "en": "The policy has no tags in the complaint or credit groups (tag_groups complaint, credit), "
        "so nobody can be flagged",
    },
}


@dataclass
class Listing:
    """A whole list as the engine computes it (or why it cannot), ordered by `order`."""

    rows: ir.Table | None  # None: not available, `note` says why
    order: list[Any] = field(default_factory=list)
    item: Callable[[dict[str, Any]], dict[str, Any]] = dict
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # said beside the items (the run compared with)
    value: str = "value"  # the column the export's summary sums


def _note(key: str, lang: str) -> Listing:
    words = NOTES[key]
    return Listing(None, note=words.get(lang, words["en"]))


def _money(table: ir.Table, run: Run) -> ir.Value:
    metric = run.manifest.get("value_metric")
    return table[metric].cast(MONEY) if metric and metric in table.columns else ibis.null(MONEY)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _labelled(tier: ir.StringValue, labels: dict[str, str]) -> ir.StringValue:
    return tier.substitute(labels) if labels else tier  # type: ignore[no-any-return]


def _in_effect(
    served: ServedWorkspace, snapshot: Snapshot, backend: Backend, lang: str
) -> tuple[ir.Table, dict[str, ir.Value]]:
    """The published run's rows with `tier` (in effect), `tier_label` and `value`, and the rest."""
    rows = with_manual(backend.read_parquet(snapshot.run.result), {k: o.tier for k, o in served.overrides().items()})
    tier = tier_in_effect(rows)
    labels = tier_labels(snapshot.policy, snapshot.run.manifest.get("tiers") or [], lang)
    base = {"tier": tier, "tier_label": _labelled(tier, labels), "value": _money(rows, snapshot.run)}
    return rows, base


def _churn_metrics(policy: Any) -> tuple[str | None, str | None]:
    """The policy's churn risk and churn signals metrics (the first of each, in policy order)."""

    def first(kind: str) -> str | None:
        return next((n for n, s in policy.metrics.items() if _churn_kind(s) == kind), None)

    return first("risk"), first("signals")


def _churn_kind(spec: MetricSpec) -> str | None:
    return getattr(spec.parameters, "churn", None) if spec.plugin is not None and spec.kind == "churn" else None


def _churn(served: ServedWorkspace, snapshot: Snapshot, backend: Backend, lang: str) -> Listing:
    risk, signals = _churn_metrics(snapshot.policy)
    rows, base = _in_effect(served, snapshot, backend, lang)
    if risk is None or risk not in rows.columns:
        return _note("no_churn", lang)
    said = signals if signals in rows.columns else None
    table = rows.select(
        "customer_id",
        **base,
        risk=rows[risk].cast("float64"),  # ordered unrounded; shown to 4 decimals
        signals=rows[said].cast("string") if said else ibis.null("string"),
    )
    spec = snapshot.policy.metrics[said] if said else None

    def item(row: dict[str, Any]) -> dict[str, Any]:
        words = shown(spec.kind, spec.parameters, row["signals"], lang) if spec else []  # as the card says them
        return {
            "customer_id": row["customer_id"],
            "tier": row["tier"],
            "tier_label": row["tier_label"],
            "risk": None if row["risk"] is None else round(float(row["risk"]), 4),
            "signals": words if isinstance(words, list) else [str(words)] if words else [],
            "value": _text(row["value"]),
        }

    return Listing(table, [ibis.desc("risk", nulls_first=False), "customer_id"], item)


def _previous(served: ServedWorkspace, snapshot: Snapshot) -> Run | None:
    """The latest run before the published one with an earlier as-of date (a re-grade of the same
    date is not the period before)."""
    as_of = snapshot.run.manifest["as_of"]
    earlier = [r for r in served.runs() if r.manifest["as_of"] < as_of and r.run_id != snapshot.run.run_id]
    return earlier[-1] if earlier else None


def _moved_down(served: ServedWorkspace, snapshot: Snapshot, backend: Backend, lang: str) -> Listing:
    before = _previous(served, snapshot)
    if before is None:
        return _note("one_run", lang)
    tiers = [str(t) for t in snapshot.run.manifest.get("tiers") or []]
    labels_now = tier_labels(snapshot.policy, tiers, lang)
    labels_then = {**labels_now, **tier_labels(run_policy(before), before.manifest.get("tiers") or [], lang)}
    old, new = backend.read_parquet(before.result), backend.read_parquet(snapshot.run.result)
    old = old.select("customer_id", from_tier=old.tier.cast("string"), value_before=_money(old, before))
    new = new.select("customer_id", to_tier=new.tier.cast("string"), value_now=_money(new, snapshot.run))
    both = old.join(new, "customer_id")  # inner: the new and the gone did not move down

    def rank(tier: ir.StringValue) -> ir.Value:  # 0 is the highest tier; NULL for a tier not in the list
        cases = [(tier == t, i) for i, t in enumerate(tiers)]
        return ibis.cases(*cases, else_=ibis.null("int64")) if cases else ibis.null("int64")

    down = both.filter(rank(both.to_tier) > rank(both.from_tier))
    table = down.select(
        "customer_id",
        **{"from": down.from_tier, "from_label": _labelled(down.from_tier, labels_then)},
        to=down.to_tier,
        to_label=_labelled(down.to_tier, labels_now),
        value_before=down.value_before,
        value_now=down.value_now,
    )

    def item(row: dict[str, Any]) -> dict[str, Any]:
        money = {k: _text(row[k]) for k in ("value_before", "value_now")}
        return {k: row[k] for k in ("customer_id", "from", "from_label", "to", "to_label")} | money

    compared = {"previous_run_id": before.run_id, "previous_as_of": before.manifest["as_of"]}
    order = [ibis.desc("value_before", nulls_first=False), "customer_id"]
    return Listing(table, order, item, extra=compared, value="value_now")


def _flagged(served: ServedWorkspace, snapshot: Snapshot, backend: Backend, lang: str) -> Listing:
    policy = snapshot.policy
    names = [t.name for t in policy.tags if t.group in FLAG_GROUPS]
    if not names:
        return _note("no_flags", lang)
    given: dict[str, list[str]] = {name: [] for name in names}  # tag -> customers who were given it by hand
    for customer_id, tags in served.manual_tags().items():
        for tag in {policy_name(policy, t.tag) for t in tags} & set(names):
            given[tag].append(customer_id)
    rows, base = _in_effect(served, snapshot, backend, lang)
    graded = rows.tags.fill_null("").split(",")
    has = [
        (n, graded.contains(n) | rows.customer_id.isin(sorted(given[n])) if given[n] else graded.contains(n))
        for n in names
    ]
    count = sum((ibis.ifelse(test, 1, 0) for _, test in has), ibis.literal(0))
    carried = ibis.array([ibis.ifelse(test, n, ibis.null("string")) for n, test in has])
    table = rows.select("customer_id", **base, tags=carried.filter(lambda t: t.notnull()).join(","), flags=count)
    table = table.filter(table.flags > 0)
    words = tag_labels(policy, lang)

    def item(row: dict[str, Any]) -> dict[str, Any]:
        tags = [{"name": t, "label": words.get(t, t)} for t in str(row["tags"] or "").split(",") if t]
        return {k: row[k] for k in ("customer_id", "tier", "tier_label")} | {"tags": tags, "value": _text(row["value"])}

    order = [ibis.desc("flags"), ibis.desc("value", nulls_first=False), "customer_id"]
    return Listing(table, order, item)


LISTS: dict[str, Callable[[ServedWorkspace, Snapshot, Backend, str], Listing]] = {
    "churn": _churn,
    "moved_down": _moved_down,
    "flagged": _flagged,
}


def _page(which: str, served: ServedWorkspace, limit: int, offset: int, lang: str | None) -> dict[str, Any]:
    if limit < 0 or offset < 0:
        raise RequestError("limit and offset must be 0 or more")
    snapshot = served.snapshot()
    backend = connect("duckdb")
    found = LISTS[which](served, snapshot, backend, lang or served.settings.lang)
    answer: dict[str, Any] = {"items": [], "total": 0, "limit": limit, "offset": offset}
    answer |= {"run_id": snapshot.run.run_id, "available": found.rows is not None, "note": found.note, **found.extra}
    if found.rows is not None:
        answer["total"] = int(backend.execute_scalar(found.rows.count()) or 0)
        page = found.rows.order_by(found.order).limit(limit, offset=offset)
        answer["items"] = [found.item(row) for row in backend.to_pyarrow(page).to_pylist()]
    return answer


def churn_watch(
    served: ServedWorkspace, caller: Caller, limit: int = 50, offset: int = 0, lang: str | None = None
) -> dict[str, Any]:
    """Customers by churn risk, highest first (the policy's `churn: risk` metric), with the
    signals that drove it in words, as the card says them."""
    return _page("churn", served, limit, offset, lang)


def moved_down(
    served: ServedWorkspace, caller: Caller, limit: int = 50, offset: int = 0, lang: str | None = None
) -> dict[str, Any]:
    """Customers whose graded tier is lower than in the run before (by as-of date), by the value
    they had then, largest first; the tier order is the published run's (first is highest)."""
    return _page("moved_down", served, limit, offset, lang)


def flagged(
    served: ServedWorkspace, caller: Caller, limit: int = 50, offset: int = 0, lang: str | None = None
) -> dict[str, Any]:
    """Customers with tags of the complaint or credit groups, graded or given by hand: most such
    tags first, then by value."""
    return _page("flagged", served, limit, offset, lang)


def _signal_names(value: ir.StringValue, lang: str) -> ir.StringValue:
    """'recency_days=330;orders_180d=0' as an export says it, in the engine: each signal by its
    short name with the customer's value ('久未购买 330; 近半年购买少 0')."""
    text = ibis.literal(";") + value.fill_null("")
    for name, signal in catalogue().items():
        text = text.replace(f";{name}=", f";{signal.label.get(lang) or signal.label.get('en') or name} ")
    return text.substr(1).replace(";", "; ")  # type: ignore[no-any-return]


def export_watchlist(
    served: ServedWorkspace, which: str, fmt: str, folder: Path, caller: Caller, lang: str | None = None
) -> tuple[Path, int]:
    """The whole list as a CSV (with a BOM, for Excel) or a workbook in `folder`, written by the
    engine, formula-like text escaped; audited. Staff only. Returns the file and its rows."""
    if caller.role == "agent":
        raise NotAllowedError("agents cannot export lists; ask an analyst or an admin")
    if which not in LISTS or fmt not in FORMATS:
        raise RequestError(f"export which one of {', '.join(LISTS)} as one of {', '.join(FORMATS)}")
    snapshot = served.snapshot()
    lang = lang or served.settings.lang
    backend = connect("duckdb")
    found = LISTS[which](served, snapshot, backend, lang)
    if found.rows is None:
        raise RequestError(found.note or f"the {which} list is not available")
    rows = found.rows.order_by(found.order)  # Ibis keeps the order through the columns below
    if which == "churn":
        rows = rows.mutate(risk=rows.risk.round(4), signals=_signal_names(rows.signals, lang))
    if which == "moved_down":  # the tier now is the workbook's tier (its summary counts by it)
        rows = rows.rename(tier="to", tier_label="to_label")
    target = folder / f"watchlist-{which}-{snapshot.run.run_id}.{fmt}"
    tiers = [str(t) for t in snapshot.run.manifest.get("tiers") or []]
    readable = Readable(snapshot.policy, tiers, lang, found.value)  # no people: no names, no phones
    with scratch_path(folder, ".parquet") as scratch:
        backend.write_parquet(rows, scratch)
        count = convert_parquet(scratch, target, fmt, readable=readable)
    detail = json.dumps({"run": snapshot.run.run_id, "rows": count, **found.extra})
    served.audit.record(caller.name, caller.role, "export", f"watchlist.{which}.{fmt}", detail, now=True)
    return target, count
