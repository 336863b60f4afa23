"""Small customers as a use case: `tierkit small` (小客户管理法) over the published run.

The bottom of the pyramid (the last 50% by value, the policy's `profit.small.bottom`) split
into upgrade candidates (growth, CLV well above today's value, category breadth: offer them
higher-margin products, with a named plan: a target tier and a date) and weed-out candidates
(劣质客户: late or unpaid payments, many complaints, a loss after the cost to serve: restrict
the service, serve them through cheaper channels, or end the relationship), each with its
reasons in words. Nobody with a key-person tag (集团关键人), from the grading or given by hand,
is on either list. The engine computes the lists (tierkit.ops.small); the counts and the first
`limit` of each list come back, and a file holds both lists whole.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from tierkit.app.tags import policy_name
from tierkit.backends import connect
from tierkit.errors import InputError, PolicyError
from tierkit.ops.small import UPGRADE, WEED_OUT, ordered, plan_date, protected_names, small_lists
from tierkit.policy import model as m
from tierkit.policy.labels import tier_labels
from tierkit.policy.profit import small_rules
from tierkit.runs.card import run_policy
from tierkit.runs.effect import tier_in_effect, with_manual
from tierkit.runs.files import load_run, store_of
from tierkit.runs.output import convert_parquet, output_format, scratch_path
from tierkit.runs.overrides import manual_tiers
from tierkit.runs.profit import profit_measure
from tierkit.runs.workbook import Readable
from tierkit.settings import DEFAULT_LANG
from tierkit.workspace import Workspace

FORMATS = ("csv", "xlsx")
SHOWN = (
    "customer_id",
    "tier",
    "tier_label",
    "value",
    "value_rank",
    "margin",
    "cost_to_serve",
    "profit",
    "signals",
    "why",
    "action",
    "action_label",
    "plan",
    "target_tier",
    "target_date",
)
NOT_TESTED = {
    "zh": "评级结果中没有指标 '{metric}', 未检验 {listed}.{key}",
    "en": "the run has no metric '{metric}'; {listed}.{key} not tested",
}
NO_MARGIN = {
    "zh": "策略没有毛利指标 (profit: {margin: ...}), 未检验 weed_out.loss (扣除服务成本后亏损)",
    "en": "the policy has no margin metric (profit: {margin: ...}); weed_out.loss not tested",
}


def clv_metric(policy: m.Policy) -> str | None:
    """The policy's first CLV value metric (`{clv: value, horizon: 12M}`), if any."""
    for name, spec in policy.metrics.items():
        if spec.plugin is not None and spec.kind == "clv" and getattr(spec.parameters, "clv", None) == "value":
            return name
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _item(row: dict[str, Any]) -> dict[str, Any]:
    item = {k: _plain(row[k]) for k in SHOWN if k in row}
    item["signals"] = [s for s in str(row.get("signals") or "").split(",") if s]
    return item


def small_customers(
    workspace: Path | None,
    lang: str | None = None,
    limit: int = 20,
    output: Path | None = None,
    offset: int = 0,
    only: str | None = None,
) -> dict[str, Any]:
    """The published run's small customers as upgrade and weed-out candidates: counts, the first
    `limit` of each list, and with `output` (.csv with a BOM for Excel, or .xlsx) both lists whole.
    A page further on starts at `offset`; `only` (upgrade or weed_out) pages that list alone."""
    if limit < 0 or offset < 0:
        raise InputError("--limit and the offset must be 0 or more")
    if only is not None and only not in (UPGRADE, WEED_OUT):
        raise InputError(f"list '{only}': use {UPGRADE} or {WEED_OUT}")
    fmt = output_format(output) if output is not None else None
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"{output}: write the lists as .csv or .xlsx")
    ws = Workspace.open(workspace)
    run = load_run(ws)
    policy = run_policy(run)
    lang = lang or ws.setting("lang", DEFAULT_LANG)
    value = run.manifest.get("value_metric")
    if not value:
        raise PolicyError(
            f"policy '{policy.name}' has no value measure to rank customers by: add `value: METRIC` "
            "(e.g. value: spend_12m) and grade again"
        )
    backend = connect("duckdb")
    rows = with_manual(backend.read_parquet(run.result), manual_tiers(ws, run))
    if value not in rows.columns:
        raise PolicyError(f"run {run.run_id}: the value measure '{value}' is not in its result")
    tiers = [str(t) for t in run.manifest.get("tiers") or []]
    labels = tier_labels(policy, tiers, lang)
    tier = tier_in_effect(rows)
    rows = rows.mutate(tier=tier, tier_label=tier.substitute(labels) if labels else tier)
    rules = small_rules(policy.profit, clv_metric(policy))
    profit = profit_measure(policy, list(rows.columns))
    as_of = dt.date.fromisoformat(run.manifest["as_of"])
    lists = small_lists(
        rows, policy, rules, value, tiers, labels, as_of, lang, _protected_by_hand(ws, policy, rules.protect), profit
    )
    table = lists.rows
    counts = table.aggregate(
        small=table.count(),
        protected=table.protected.sum(),
        upgrade=(table.list == UPGRADE).sum(),
        weed_out=(table.list == WEED_OUT).sum(),
        end_relationship=(table.action == "end_relationship").sum(),
        cheaper_channels=(table.action == "cheaper_channels").sum(),
        restrict_service=(table.action == "restrict_service").sum(),
        customers=table.customers.max(),
    )
    found = backend.to_pyarrow(counts).to_pylist()[0]
    notes = [
        NOT_TESTED.get(lang, NOT_TESTED["en"]).format(metric=u.test.metric, listed=u.listed, key=u.test.key)
        for u in lists.used
        if u.note is not None and u.test.key != "loss"
    ]
    if any(u.test.key == "loss" and u.note for u in lists.used) or (
        policy.profit is None or policy.profit.margin is None
    ):
        notes.append(NO_MARGIN.get(lang, NO_MARGIN["en"]))
    answer: dict[str, Any] = {
        "run_id": run.run_id,
        "as_of": run.manifest["as_of"],
        "policy": policy.name,
        "value_metric": value,
        "customers": int(found["customers"] or 0),
        "bottom": float(rules.bottom),
        "small_customers": int(found["small"] or 0),
        "protected": int(found["protected"] or 0),
        "protect": list(rules.protect),
        "tests": [
            {
                "list": u.listed,
                "signal": u.test.key,
                "metric": u.test.metric or None,
                "at_least": format(u.test.threshold.normalize(), "f") if u.test.key != "loss" else None,
                "tested": u.note is None,
            }
            for u in lists.used
        ],
        "notes": notes,
        "plan": {"target": rules.target, "date": plan_date(as_of, rules.within).isoformat()},
        UPGRADE: {"count": int(found["upgrade"] or 0), "items": []},
        WEED_OUT: {
            "count": int(found["weed_out"] or 0),
            "by_action": {k: int(found[k] or 0) for k in ("restrict_service", "cheaper_channels", "end_relationship")},
            "items": [],
        },
    }
    for listed in (UPGRADE, WEED_OUT) if only is None else (only,):
        page = ordered(table, listed).limit(limit, offset=offset)
        answer[listed]["items"] = [_item(row) for row in backend.to_pyarrow(page).to_pylist()]
    if output is not None and fmt is not None:
        answer["output"] = str(output)
        answer["written"] = _write(backend, table, output, fmt, policy, tiers, lang)
    return answer


def _protected_by_hand(ws: Workspace, policy: m.Policy, protect: tuple[str, ...]) -> list[str]:
    """Customers given a protecting tag by a person (`tierkit tags set ID 集团关键人`), in force."""
    from tierkit.store import manual_tags

    names = set(protected_names(policy, protect))
    given = manual_tags.active(store_of(ws))
    return sorted(
        cid for cid, tags in given.items() if any(policy_name(policy, t.tag) in names or t.tag in names for t in tags)
    )


def _write(backend: Any, table: Any, output: Path, fmt: str, policy: m.Policy, tiers: list[str], lang: str) -> int:
    """Both lists, upgrade first, each in its working order, as CSV (BOM) or the manager's workbook."""
    import ibis

    chosen = table.filter(table.list.notnull())
    loss = (
        ibis.ifelse(chosen.list == WEED_OUT, chosen.profit, ibis.null(chosen.profit.type()))
        if "profit" in chosen.columns
        else None
    )
    order = [
        ibis.ifelse(chosen.list == UPGRADE, 0, 1),
        chosen.signal_count.desc(),
        *([loss.asc()] if loss is not None else []),
        chosen.value_rank.asc(),
        chosen.customer_id.asc(),
    ]
    keep = ["customer_id", "list", "list_label", *[c for c in SHOWN if c != "customer_id" and c in chosen.columns]]
    rows = chosen.order_by(order).select(*keep)
    readable = Readable(policy, tiers, lang, "value")
    with scratch_path(output.parent if str(output.parent) else Path("."), ".parquet") as scratch:
        backend.write_parquet(rows, scratch)
        return convert_parquet(scratch, output, fmt, readable=readable)
