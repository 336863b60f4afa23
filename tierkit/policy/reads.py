"""What a policy reads: the names behind its tier rules, its tags and its scores.

Why one list: the reasons show the value of every name the rules, tags and scores read ("why
not VIP?" has an answer in the else tier too), the engine says which metrics a file cannot
give (engine.absent), and a card rebuilds the reasons from the row (runs.reasons_full). If
each kept its own list, a card could show other values than the ones the engine decided on.
"""

from __future__ import annotations

from tierkit.policy.expr import parse_rule
from tierkit.policy.model import Policy


def score_reads(spec: object) -> set[str]:
    """The metric names a score reads (by, spend, points, axes, recency/frequency/monetary, of)."""
    read: set[str] = set()
    for key in ("by", "spend", "points", "of", "recency", "frequency", "monetary"):
        value = getattr(spec, key, None)
        if isinstance(value, str):
            read.add(value)
    for axis in ("letter", "digit"):
        value = getattr(getattr(spec, axis, None), "by", None)
        if isinstance(value, str):
            read.add(value)
    return read


def tier_reads(policy: Policy) -> set[str]:
    """Names the tier rules test (none when the tiers are a score's classes: `primary:`)."""
    if policy.primary is not None:
        return set()
    read: set[str] = set()
    for rule in policy.tiers:
        if not rule.else_:
            read |= parse_rule(rule.when or "").names()
    return read


def policy_reads(policy: Policy) -> set[str]:
    """Every name the tier rules, the tags and the scores read."""
    read = tier_reads(policy)
    for tag in policy.tags:
        read |= parse_rule(tag.when).names()
    for spec in policy.scores.values():
        read |= score_reads(spec)
    return read
