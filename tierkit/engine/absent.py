"""Columns a file lacks: the metrics over them are unknown, and the grading says what that costs.

An orders file without `discount` cannot tell discounted orders from others: counting none of
them as discounted would call every customer quality-sensitive. So a metric that reads a
canonical column its file does not have (in its `where:` or as its value) is unknown (NULL) for
everyone, rules and tags that need it do not fire (an unknown condition is false), and one note
per absent column names the metrics, scores, tiers and tags that read it.
"""

from __future__ import annotations

from collections.abc import Iterable

from tierkit.policy.expr import parse_rule
from tierkit.policy.loader import LoadedPolicy
from tierkit.policy.model import MetricSpec
from tierkit.policy.reads import score_reads
from tierkit.tables.readers import SourceTable

PSEUDO = ("month", "day", "year")  # computed from the table's time column


def absent_columns(spec: MetricSpec, src: SourceTable) -> list[str]:
    """The canonical columns of `src`'s table this metric reads that the file does not have."""
    kind = spec.kind
    read: set[str] = set()
    if spec.where:
        read |= parse_rule(spec.where).names()
    value = getattr(spec, kind, None)
    if kind not in ("count", "recency", "tenure") and isinstance(value, str):
        read.add(value)
    known = set(src.spec.names)
    return sorted(name for name in read if name in known and name not in src.present and name not in PSEUDO)


def _readers(names: Iterable[tuple[str, str | None]], unknown: set[str]) -> list[str]:
    return [name for name, rule in names if rule and parse_rule(rule).names() & unknown]


def notes(loaded: LoadedPolicy, missing: dict[tuple[str, str], list[str]]) -> list[str]:
    """One note per absent column: `missing` maps (file, column) -> the metrics that read it."""
    policy = loaded.policy
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = {}  # columns that cost the same, said together
    for (path, column), metrics in missing.items():
        grouped.setdefault((path, tuple(sorted(metrics))), []).append(column)
    found = []
    for (path, read_by), columns in grouped.items():
        unknown = set(read_by)
        for name, spec in policy.metrics.items():  # expr metrics over unknown ones are unknown too
            if spec.expr and parse_rule(spec.expr).names() & unknown:
                unknown.add(name)
        scores = [name for name, spec in policy.scores.items() if score_reads(spec) & unknown]
        tiers = _readers(((t.name, t.when) for t in policy.tiers), unknown | set(scores))
        tags = _readers(((t.name, t.when) for t in policy.tags), unknown | set(scores))
        named = ", ".join(f"'{c}'" for c in columns)
        plural = "s" if len(columns) > 1 else ""
        said = f"{path} has no column{plural} {named}: unknown for every customer: {', '.join(sorted(unknown))}"
        if scores:
            said += f"; scores that read them: {', '.join(scores)}"
        if tiers:
            said += f"; tier rules that read them do not match: {', '.join(tiers)}"
        if tags:
            said += f"; tags that read them do not fire on them: {', '.join(tags)}"
        found.append(said)
    return found
