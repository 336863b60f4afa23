"""Policies as use cases: the shipped presets, and checking a policy without data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tierkit.engine.check import check_policy
from tierkit.policy.loader import LoadedPolicy, load_policy, preset_names


def presets() -> list[dict[str, Any]]:
    """Every shipped preset with its description."""
    return [{"name": n, "description": load_policy(n).policy.description} for n in preset_names()]


def check(policy: str | Path | LoadedPolicy, customers: Path | None = None) -> LoadedPolicy:
    """Load a policy and compile every metric, score, rule and tag against typed stand-in
    tables, as grading will; a PolicyError names the first problem's file and line. With a
    customers file, its own columns (医院级别, income_band ...) are known to the rules, typed."""
    loaded = policy if isinstance(policy, LoadedPolicy) else load_policy(policy)
    attributes: dict[str, str] = {}
    if customers is not None:
        from tierkit.backends import connect
        from tierkit.tables.readers import read_table

        table = read_table(connect("duckdb"), "customers", customers)
        attributes = {name: str(table.table.schema()[name]) for name in table.attributes}
    check_policy(loaded, attributes=attributes)
    return loaded
