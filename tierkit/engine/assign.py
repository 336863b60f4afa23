"""Assignment: the primary tier, tags, and the reasons behind each, as Ibis expressions.

Tier rules are ordered and the first that matches wins. The whole reasons JSON says which rule
decided (`tier`), what each score decided (`abc`, `pyramid`, ...), which tags matched and why
(`tags`), and, once, the value of every metric any of those read (`values`): a customer in the
`else` tier sees the values every rule above tested, so "why not VIP?" has an answer too.
A result keeps it lean (engine.reasons): only the stability entry and the scores' figures, the
rest being the row's own columns and the policy's texts, which runs.reasons_full puts back.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from tierkit.engine import reasons
from tierkit.engine.rules import compile_condition
from tierkit.engine.scores import ScoreResult
from tierkit.engine.stability import stabilize
from tierkit.policy.labels import score_levels
from tierkit.policy.loader import LoadedPolicy
from tierkit.policy.reads import policy_reads


@dataclass
class Assigned:
    table: ir.Table
    tier_names: list[str]
    tag_names: list[str]


def _visible(table: ir.Table) -> dict[str, ir.Value]:
    return {c: table[c] for c in table.columns if not c.startswith("__")}


def _constant(fields: dict[str, str]) -> str:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def assign_tiers(
    table: ir.Table, loaded: LoadedPolicy, scores: dict[str, ScoreResult], as_of: dt.date | None = None
) -> tuple[ir.Table, list[str]]:
    """The tier column (and its reason, when reasons are written whole) and the tier names, best first."""
    policy = loaded.policy
    whole = reasons.whole()
    if policy.primary is not None:
        column = scores[policy.primary].primary
        names = score_levels(policy.scores[policy.primary])
        tier = table[column].cast("string")
        if not whole:
            return table.mutate(tier=tier), names
        reason = ibis.literal(_constant({"score": policy.primary, "column": column}))
        return table.mutate(tier=tier, __reason_tier=reason), names
    visible = _visible(table)
    cases_tier, cases_reason = [], []
    for index, rule in enumerate(policy.tiers):
        if rule.else_:
            continue
        text = rule.when or ""
        cond = compile_condition(text, visible, loaded.where("tiers", index, "when"), as_of)
        cases_tier.append((cond, rule.name))
        cases_reason.append((cond, _constant({"rule": rule.name, "when": text})))
    last = policy.tiers[-1]
    tier = ibis.cases(*cases_tier, else_=last.name) if cases_tier else ibis.literal(last.name)
    if not whole:
        return table.mutate(tier=tier), [t.name for t in policy.tiers]
    else_reason = _constant({"rule": last.name, "when": "else"})
    reason = ibis.cases(*cases_reason, else_=else_reason) if cases_reason else ibis.literal(else_reason)
    return table.mutate(tier=tier, __reason_tier=reason), [t.name for t in policy.tiers]


def assign_tags(table: ir.Table, loaded: LoadedPolicy, as_of: dt.date | None = None) -> tuple[ir.Table, list[str]]:
    """One boolean column per tag, the matched names as text, and (reasons written whole) why each matched."""
    visible = _visible(table)
    tags = loaded.policy.tags
    whole = reasons.whole()
    if not tags:
        return table.mutate(tags=ibis.literal(""), **({"__reason_tags": ibis.literal("{}")} if whole else {})), []
    flags = {
        f"tag_{tag.name}": compile_condition(tag.when, visible, loaded.where("tags", index, "when"), as_of)
        for index, tag in enumerate(tags)
    }
    table = table.mutate(**flags)
    names, whys = [], []
    for tag in tags:
        flag = table[f"tag_{tag.name}"]
        why = (
            json.dumps(tag.name, ensure_ascii=False)
            + ":"
            + _constant({"when": tag.when, "action": tag.action.text("en", "") if tag.action else ""})
        )
        # CONCAT_WS skips NULLs: an unmatched tag is NULL and leaves no stray comma
        names.append(ibis.ifelse(flag, tag.name, ibis.null("string")))
        whys.append(ibis.ifelse(flag, why, ibis.null("string")))
    listed = ibis.literal(",").join(names)
    if not whole:
        return table.mutate(tags=listed), [t.name for t in tags]
    reason = reasons.join(["{", ibis.literal(",").join(whys), "}"])
    return table.mutate(tags=listed, __reason_tags=reason), [t.name for t in tags]


def assign(
    table: ir.Table,
    loaded: LoadedPolicy,
    scores: dict[str, ScoreResult],
    as_of: dt.date | None = None,
    previous: ir.Table | None = None,
) -> Assigned:
    """`previous`: the previous run's result, for `stability:` (engine/stability.py)."""
    table, tier_names = assign_tiers(table, loaded, scores, as_of)
    stable = loaded.policy.stability is not None and as_of is not None
    if stable:  # before the tags: a tag that reads `tier` reads the tier that applies
        assert as_of is not None
        table, entry = stabilize(table, loaded, tier_names, as_of, previous)
        table = table.mutate(__reason_stability=entry)
    table, tag_names = assign_tags(table, loaded, as_of)
    parts: dict[str, reasons.Fragment] = {}
    whole = reasons.whole()
    if whole:
        parts["tier"] = table["__reason_tier"]
    if stable:
        parts["stability"] = table["__reason_stability"]
    parts.update({name: table[f"__reason_{name}"] for name in scores if f"__reason_{name}" in table.columns})
    if whole:
        parts["tags"] = table["__reason_tags"]
        read = sorted(n for n in policy_reads(loaded.policy) if n in table.columns and not n.startswith("__"))
        parts["values"] = reasons.obj({n: table[n] for n in read})
    table = table.mutate(reasons=reasons.obj(parts, raw=frozenset(parts)))
    hidden = [c for c in table.columns if c.startswith("__")]
    return Assigned(table.drop(*hidden), tier_names, tag_names)
