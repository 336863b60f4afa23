"""What a published run changed for each customer, as the policy's `alerts:` rules name it.

One engine expression over the two runs' results (and, when known, who owns each customer):
a union of one select per event kind, so that a run that moves 100,000 customers is one query,
not a Python loop over rows. The rows carry what the reasons need (the tier's rule, the
stability entry, the tag's condition, the churn signals); tierkit/app/alerts.py words them.

Customers must be in both runs for a tier, churn or key-customer event; a tag is news also on a
customer seen for the first time (a new serial complainer matters from day one).
"""

from __future__ import annotations

import json

import ibis
import ibis.expr.types as ir

from tierkit.backends import Backend
from tierkit.policy.model import Policy
from tierkit.runs.files import Run
from tierkit.runs.reasons_full import tier_reason

COLUMNS = {
    "event": "string",
    "customer_id": "string",
    "old": "string",
    "new": "string",
    "old_number": "float64",
    "new_number": "float64",
    "tier": "string",
    "why": "string",  # the tier's rule (JSON), the tag's condition, the churn signals, the old tier
    "stability": "string",  # the reasons' stability entry (JSON), for a tier event
}


def _tag_column(name: str) -> str:
    return f"tag_{name}"


def _rows(
    joined: ir.Table,
    event: str,
    keep: ir.BooleanValue,
    **values: ir.Value | None,
) -> ir.Table:
    """One event's rows in the shape every event shares (COLUMNS); what an event lacks is NULL."""
    picked = joined.filter(keep)
    out: dict[str, ir.Value] = {}
    for column, kind in COLUMNS.items():
        given = values.get(column)
        if column == "event":
            out[column] = ibis.literal(event, "string")
        elif column == "customer_id":
            out[column] = picked.customer_id.cast("string")
        elif given is None:
            out[column] = ibis.null(kind)
        else:
            out[column] = given.cast(kind)  # type: ignore[union-attr]
    return picked.select(**out)


def _tier_rule(joined: ir.Table, policy: Policy) -> ir.StringValue:
    """The rule that gave each row its tier, as the whole reasons say it (JSON text), from the
    policy: a lean result does not repeat rule texts on every row (runs.reasons_full)."""
    if policy.primary is not None:
        return ibis.literal(_compact(tier_reason(policy, None)))
    graded = joined.graded_tier if "graded_tier" in joined.columns else joined.tier
    said = {r.name: _compact(tier_reason(policy, r.name)) for r in policy.tiers}
    return graded.cast("string").substitute(said, else_=ibis.null("string"))  # type: ignore[no-any-return]


def _compact(value: dict[str, object]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def changes(backend: Backend, before: Run, after: Run, policy: Policy, owners: ir.Table | None) -> ir.Table:
    """Every event between `before` and `after` under the `alerts:` rules of `policy` (the run
    `after`'s own) (COLUMNS plus `owner`), by event then customer."""
    rules = policy.alerts
    assert rules is not None
    new = backend.read_parquet(after.result)
    old = backend.read_parquet(before.result)
    order = list(after.manifest.get("tiers") or [])
    wanted_old = {"tier": "o_tier"}
    churn = rules.churn_risk.metric if rules.churn_risk is not None else None
    lost = rules.key_customer_lost
    for metric in (churn, lost.recency if lost else None):
        if metric and metric in old.columns:
            wanted_old[metric] = f"o_{metric}"
    for tag in rules.tags:
        if _tag_column(tag) in old.columns:
            wanted_old[_tag_column(tag)] = f"o_{_tag_column(tag)}"
    previous = old.select(o_customer_id=old.customer_id, **{alias: old[c] for c, alias in wanted_old.items()})
    joined = new.left_join(previous, new.customer_id == previous.o_customer_id)
    known = joined.o_customer_id.notnull()
    reasons = joined.reasons.cast("json") if "reasons" in new.columns else None
    rank_new = joined.tier.substitute({t: i for i, t in enumerate(order)}, else_=ibis.null("int64"))
    rank_old = joined.o_tier.substitute({t: i for i, t in enumerate(order)}, else_=ibis.null("int64"))
    # a result written whole says the rule in its reasons; a lean one leaves it to the policy
    tier_why = _tier_rule(joined, policy)
    if reasons is not None:
        tier_why = reasons["tier"].cast("string").coalesce(tier_why)
    stability = reasons["stability"].cast("string") if reasons is not None else None
    parts: list[ir.Table] = []
    moved = {"old": joined.o_tier, "new": joined.tier, "tier": joined.tier, "why": tier_why, "stability": stability}
    if rules.tier_up:
        parts.append(_rows(joined, "tier_up", known & (rank_new < rank_old), **moved))
    if rules.tier_down:
        parts.append(_rows(joined, "tier_down", known & (rank_new > rank_old), **moved))
    if churn is not None and rules.churn_risk is not None and churn in new.columns:
        above = float(rules.churn_risk.above)
        risk = joined[churn].cast("float64")
        before_risk = joined[f"o_{churn}"].cast("float64") if f"o_{churn}" in joined.columns else ibis.null("float64")
        crossed = known & (risk >= above) & (before_risk.isnull() | (before_risk < above))
        signals = joined.churn_signals if "churn_signals" in new.columns else None
        parts.append(
            _rows(joined, "churn_risk", crossed, old_number=before_risk, new_number=risk, tier=joined.tier, why=signals)
        )
    for tag in rules.tags:
        column = _tag_column(tag)
        if column not in new.columns:
            continue
        had = joined[f"o_{column}"].fill_null(False) if f"o_{column}" in joined.columns else ibis.literal(False)
        said = next((t.when for t in policy.tags if t.name == tag), None)
        when = ibis.literal(said, "string") if said is not None else ibis.null("string")
        if reasons is not None:
            when = reasons["tags"][tag]["when"].str.coalesce(when)
        fresh = joined[column].fill_null(False) & ~had
        parts.append(_rows(joined, "tag_added", fresh, new=ibis.literal(tag), tier=joined.tier, why=when))
    if lost is not None and lost.recency in new.columns and f"o_{lost.recency}" in joined.columns:
        days, days_before = joined[lost.recency].cast("float64"), joined[f"o_{lost.recency}"].cast("float64")
        key = joined.o_tier.isin(lost.tiers)
        gone = known & key & (days > lost.after_days) & (days_before <= lost.after_days)
        parts.append(
            _rows(
                joined,
                "key_customer_lost",
                gone,
                old_number=days_before,
                new_number=days,
                tier=joined.tier,
                why=joined.o_tier,
            )
        )
    if not parts:
        return _rows(joined, "none", ibis.literal(False)).mutate(owner=ibis.null("string"))
    found = ibis.union(*parts, distinct=False)
    if owners is None:
        found = found.mutate(owner=ibis.null("string"))
    else:
        who = owners.select(w_customer_id=owners.customer_id.cast("string"), owner=owners.owner.cast("string"))
        found = found.left_join(who, found.customer_id == who.w_customer_id).drop("w_customer_id")
    return found.order_by(["event", "customer_id", "new"])
