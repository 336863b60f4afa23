"""A customer's whole reasons, rebuilt from the lean JSON a result keeps, its row and its policy.

Why: a grading writes in `reasons` only what neither the row's columns nor the policy say (a
pyramid rank, an ABC share, the stability entry; engine.reasons). Cards, exports and the API
show the whole, as it always read: which rule decided and its text, what each score decided,
the tags that matched with their conditions and actions, and the values the rules read. That
whole is put back here, from the same policy (the run's own copy) and the same row, so it is
what the engine decided on; `TIERKIT_REASONS=full` writes it into the file instead, and the
tests hold the two equal on every preset.

A result written whole (`full`, or graded before lean reasons) is read as it is.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tierkit.policy.labels import class_column
from tierkit.policy.memo import per_policy
from tierkit.policy.model import Policy
from tierkit.policy.reads import policy_reads


def full_reasons(stored: str | Mapping[str, Any] | None, row: Mapping[str, Any], policy: Policy) -> dict[str, Any]:
    """The whole reasons of `row` (a result row: its tier, score columns, tag flags and metrics)."""
    kept = dict(json.loads(stored or "{}") if isinstance(stored, str | None) else stored)
    if "tier" in kept:  # written whole
        return kept
    whole: dict[str, Any] = {"tier": tier_reason(policy, row.get("graded_tier") or row.get("tier"))}
    if policy.stability is not None:
        whole["stability"] = kept.get("stability")
    for name, spec in policy.scores.items():
        whole[name] = _score(name, spec, row, kept.get(name) or {})
    whole["tags"] = {
        tag.name: {"when": tag.when, "action": tag.action.text("en", "") if tag.action else ""}
        for tag in policy.tags
        if _matched(row, tag.name)
    }
    read = [n for n in _reads(policy) if n in row]
    whole["values"] = {n: shown(row[n]) for n in read}
    return whole


@per_policy
def _reads(policy: Policy) -> list[str]:
    """The names the policy reads, sorted, parsed once per policy object (parsing every rule on
    every card cost ten times the rest of the card)."""
    return sorted(n for n in policy_reads(policy) if not n.startswith("__"))


def tier_reason(policy: Policy, graded: Any) -> dict[str, Any]:
    """The rule that decided a tier the rules gave (`graded_tier` when stable tiers kept another),
    as the whole reasons say it; the alerts say the same (runs.changes)."""
    if policy.primary is not None:
        return {"score": policy.primary, "column": class_column(policy.primary, policy.scores[policy.primary])}
    for rule in policy.tiers:
        if rule.name == graded:
            return {"rule": rule.name, "when": "else" if rule.else_ else rule.when}
    return {"rule": graded, "when": None}  # a tier the policy no longer has: said as it is


def _score(name: str, spec: Any, row: Mapping[str, Any], figures: Mapping[str, Any]) -> dict[str, Any]:
    """What one score decided, in the engine's words (engine.scores: each scorer's reason)."""
    kind = spec.type
    if kind == "rfm":
        parts = {part: row.get(f"{name}_{part}") for part in ("r", "f", "m", "segment")}
        return {"score": "rfm", "method": spec.method, **parts}
    if kind == "abc" and spec.split == "customers":
        ranked = _figures(figures, "rank", "of")
        return {"score": "abc", "by": spec.by, "split": "customers", **ranked, "class": row.get(name)}
    if kind == "abc":
        return {"score": "abc", "by": spec.by, **_figures(figures, "share_above"), "class": row.get(name)}
    if kind == "pyramid":
        return {"score": "pyramid", "by": spec.by, **_figures(figures, "rank", "of"), "level": row.get(name)}
    if kind == "stars":
        return {"score": "stars", "stars": row.get(name)}
    if kind == "grid":
        return {"score": "grid", "cell": row.get(f"{name}_cell")}
    return {"score": "bands", "band": row.get(name)}


def _figures(figures: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {n: figures.get(n) for n in names}


def _matched(row: Mapping[str, Any], tag: str) -> bool:
    flag = row.get(f"tag_{tag}")
    if flag is not None:
        return bool(flag)
    return tag in str(row.get("tags") or "").split(",")


def shown(value: Any) -> Any:
    """A value as the engine writes it into reasons (engine.reasons.value), read back as JSON:
    integers as they are, decimals as numbers, floating values at four decimals (rounded half
    away from zero after scaling, as DuckDB casts them), dates and times as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        scaled = value * 10_000.0
        return math.copysign(math.floor(abs(scaled) + 0.5), scaled) / 10_000.0 + 0.0  # no -0.0
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
