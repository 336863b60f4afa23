"""Assignment: the primary tier, tags, and the reasons behind each, as Ibis expressions.

Tier rules are ordered and the first that matches wins; the reason records which rule decided
and the values of every name that rule reads. A customer reaching the `else` tier gets the
values of all the names the rules above read, so "why not VIP?" has an answer too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from tierkit.engine import reasons
from tierkit.engine.rules import compile_condition
from tierkit.engine.scores import ScoreResult
from tierkit.policy.expr import parse_rule
from tierkit.policy.loader import LoadedPolicy


@dataclass
class Assigned:
    table: ir.Table
    tier_names: list[str]
    tag_names: list[str]


def _visible(table: ir.Table) -> dict[str, ir.Value]:
    return {c: table[c] for c in table.columns if not c.startswith("__")}


def _values(table: ir.Table, names: set[str]) -> reasons.Fragment:
    return reasons.obj({n: table[n] for n in sorted(names) if n in table.columns})


def assign_tiers(table: ir.Table, loaded: LoadedPolicy, scores: dict[str, ScoreResult]) -> tuple[ir.Table, list[str]]:
    policy = loaded.policy
    names = _visible(table)
    if policy.primary is not None:
        column = scores[policy.primary].primary
        tier = table[column].cast("string")
        reason = reasons.obj(
            {"score": policy.primary, "column": column, "detail": table[f"__reason_{policy.primary}"]},
            raw=frozenset({"detail"}),
        )
        return table.mutate(tier=tier, __reason_tier=reason), []
    cases_tier, cases_reason = [], []
    read_by_all: set[str] = set()
    for index, rule in enumerate(policy.tiers):
        if rule.else_:
            continue
        text = rule.when or ""
        cond = compile_condition(text, names, loaded.where("tiers", index, "when"))
        read = parse_rule(text).names()
        read_by_all |= read
        cases_tier.append((cond, rule.name))
        cases_reason.append(
            (
                cond,
                reasons.obj(
                    {"rule": rule.name, "when": text, "values": _values(table, read)}, raw=frozenset({"values"})
                ),
            )
        )
    last = policy.tiers[-1]
    else_reason = reasons.obj(
        {"rule": last.name, "when": "else", "values": _values(table, read_by_all)}, raw=frozenset({"values"})
    )
    tier = ibis.cases(*cases_tier, else_=last.name) if cases_tier else ibis.literal(last.name)
    reason = ibis.cases(*cases_reason, else_=else_reason) if cases_reason else else_reason
    return table.mutate(tier=tier, __reason_tier=reason), [t.name for t in policy.tiers]


def assign_tags(table: ir.Table, loaded: LoadedPolicy) -> tuple[ir.Table, list[str]]:
    """One boolean column per tag, the matched names as text, and reasons for the matched only."""
    names = _visible(table)
    tags = loaded.policy.tags
    flags = {
        f"tag_{tag.name}": compile_condition(tag.when, names, loaded.where("tags", index, "when"))
        for index, tag in enumerate(tags)
    }
    table = table.mutate(**flags)
    names_of_matched: list[ir.StringValue] = []
    reasons_of_matched: list[ir.StringValue] = []
    for tag in tags:
        flag = table[f"tag_{tag.name}"]
        why = reasons.obj(
            {"when": tag.when, "action": tag.action or "", "values": _values(table, parse_rule(tag.when).names())},
            raw=frozenset({"values"}),
        )
        # CONCAT_WS skips NULLs: an unmatched tag is NULL and leaves no stray comma
        names_of_matched.append(ibis.ifelse(flag, tag.name, ibis.null("string")))
        entry = reasons.join([json.dumps(tag.name) + ":", why])
        reasons_of_matched.append(ibis.ifelse(flag, entry, ibis.null("string")))
    if not tags:
        return table.mutate(tags=ibis.literal(""), __reason_tags=ibis.literal("{}")), []
    listed = ibis.literal(",").join(names_of_matched)
    reason = reasons.join(["{", ibis.literal(",").join(reasons_of_matched), "}"])
    return table.mutate(tags=listed, __reason_tags=reason), [t.name for t in tags]


def assign(table: ir.Table, loaded: LoadedPolicy, scores: dict[str, ScoreResult]) -> Assigned:
    table, tier_names = assign_tiers(table, loaded, scores)
    table, tag_names = assign_tags(table, loaded)
    parts: dict[str, reasons.Fragment] = {"tier": table["__reason_tier"]}
    for name in scores:
        parts[name] = table[f"__reason_{name}"]
    parts["tags"] = table["__reason_tags"]
    table = table.mutate(reasons=reasons.obj(parts, raw=frozenset(parts)))
    hidden = [c for c in table.columns if c.startswith("__")]
    if not tier_names and loaded.policy.primary:
        from tierkit.engine.scores import score_levels

        tier_names = score_levels(loaded.policy.scores[loaded.policy.primary])
    return Assigned(table.drop(*hidden), tier_names, tag_names)
