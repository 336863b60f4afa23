"""Assignment: the primary tier, tags, and the reasons behind each, as Ibis expressions.

Tier rules are ordered and the first that matches wins. The reasons JSON says which rule
decided (`tier`), what each score decided (`abc`, `pyramid`, ...), which tags matched and why
(`tags`), and, once, the value of every metric any of those read (`values`): a customer in the
`else` tier sees the values every rule above tested, so "why not VIP?" has an answer too.
Rule and tag texts are constants, so per customer only the values are formatted.
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
from tierkit.policy.expr import parse_rule
from tierkit.policy.labels import score_levels
from tierkit.policy.loader import LoadedPolicy


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
) -> tuple[ir.Table, list[str], set[str]]:
    """The tier column, its reason, the tier names (best first) and the names the rules read."""
    policy = loaded.policy
    if policy.primary is not None:
        column = scores[policy.primary].primary
        reason = ibis.literal(_constant({"score": policy.primary, "column": column}))
        names = score_levels(policy.scores[policy.primary])
        return table.mutate(tier=table[column].cast("string"), __reason_tier=reason), names, set()
    visible = _visible(table)
    cases_tier, cases_reason = [], []
    read: set[str] = set()
    for index, rule in enumerate(policy.tiers):
        if rule.else_:
            continue
        text = rule.when or ""
        cond = compile_condition(text, visible, loaded.where("tiers", index, "when"), as_of)
        read |= parse_rule(text).names()
        cases_tier.append((cond, rule.name))
        cases_reason.append((cond, _constant({"rule": rule.name, "when": text})))
    last = policy.tiers[-1]
    else_reason = _constant({"rule": last.name, "when": "else"})
    tier = ibis.cases(*cases_tier, else_=last.name) if cases_tier else ibis.literal(last.name)
    reason = ibis.cases(*cases_reason, else_=else_reason) if cases_reason else ibis.literal(else_reason)
    return table.mutate(tier=tier, __reason_tier=reason), [t.name for t in policy.tiers], read


def assign_tags(
    table: ir.Table, loaded: LoadedPolicy, as_of: dt.date | None = None
) -> tuple[ir.Table, list[str], set[str]]:
    """One boolean column per tag, the matched names as text, and the reasons of the matched."""
    visible = _visible(table)
    tags = loaded.policy.tags
    if not tags:
        return table.mutate(tags=ibis.literal(""), __reason_tags=ibis.literal("{}")), [], set()
    flags = {
        f"tag_{tag.name}": compile_condition(tag.when, visible, loaded.where("tags", index, "when"), as_of)
        for index, tag in enumerate(tags)
    }
    table = table.mutate(**flags)
    names, whys = [], []
    read: set[str] = set()
    for tag in tags:
        flag = table[f"tag_{tag.name}"]
        read |= parse_rule(tag.when).names()
        why = (
            json.dumps(tag.name, ensure_ascii=False)
            + ":"
            + _constant({"when": tag.when, "action": tag.action.text("en", "") if tag.action else ""})
        )
        # CONCAT_WS skips NULLs: an unmatched tag is NULL and leaves no stray comma
        names.append(ibis.ifelse(flag, tag.name, ibis.null("string")))
        whys.append(ibis.ifelse(flag, why, ibis.null("string")))
    listed = ibis.literal(",").join(names)
    reason = reasons.join(["{", ibis.literal(",").join(whys), "}"])
    return table.mutate(tags=listed, __reason_tags=reason), [t.name for t in tags], read


def assign(
    table: ir.Table,
    loaded: LoadedPolicy,
    scores: dict[str, ScoreResult],
    as_of: dt.date | None = None,
    previous: ir.Table | None = None,
) -> Assigned:
    """`previous`: the previous run's result, for `stability:` (engine/stability.py)."""
    table, tier_names, read_by_tiers = assign_tiers(table, loaded, scores, as_of)
    stable = loaded.policy.stability is not None and as_of is not None
    if stable:  # before the tags: a tag that reads `tier` reads the tier that applies
        assert as_of is not None
        table, entry = stabilize(table, loaded, tier_names, as_of, previous)
        table = table.mutate(__reason_stability=entry)
    table, tag_names, read_by_tags = assign_tags(table, loaded, as_of)
    read = read_by_tiers | read_by_tags | {name for result in scores.values() for name in result.reads}
    parts: dict[str, reasons.Fragment] = {"tier": table["__reason_tier"]}
    if stable:
        parts["stability"] = table["__reason_stability"]
    for name in scores:
        parts[name] = table[f"__reason_{name}"]
    parts["tags"] = table["__reason_tags"]
    parts["values"] = reasons.obj({n: table[n] for n in sorted(read) if n in table.columns and not n.startswith("__")})
    table = table.mutate(reasons=reasons.obj(parts, raw=frozenset(parts)))
    hidden = [c for c in table.columns if c.startswith("__")]
    return Assigned(table.drop(*hidden), tier_names, tag_names)
