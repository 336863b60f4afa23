"""The customer card: one customer's tier, scores, tags, service and the reasons for each."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import duckdb

from tierkit.engine.grade import tier_labels
from tierkit.errors import InputError
from tierkit.policy.loader import parse_policy
from tierkit.policy.model import Policy
from tierkit.runs.output import parquet_source
from tierkit.runs.store import POLICY, Run


def score_columns(policy: Policy) -> list[str]:
    """The output columns each score writes (rfm: NAME_r/_f/_m/_segment, grid: NAME_cell, else NAME)."""
    columns: list[str] = []
    for name, spec in policy.scores.items():
        if spec.type == "rfm":
            columns += [f"{name}_{part}" for part in ("r", "f", "m", "segment")]
        elif spec.type == "grid":
            columns.append(f"{name}_cell")
        else:
            columns.append(name)
    return columns


def run_policy(run: Run) -> Policy:
    """The policy a run was graded with (segment maps resolved)."""
    resolved = run.path / POLICY
    if resolved.exists():
        return Policy.model_validate(json.loads(resolved.read_text("utf-8")))
    # runs written before policy.json was kept
    return parse_policy((run.path / "policy.yaml").read_text("utf-8"), f"{run.run_id}/policy.yaml").policy


def customer_card(run: Run, customer_id: str, lang: str = "zh") -> dict[str, Any]:
    """The card in a language: labels come from the run's policy, not the language it was graded in."""
    con = duckdb.connect()
    cursor = con.execute(f"SELECT * FROM {parquet_source(run.result)} WHERE customer_id = ?", [customer_id])
    names = [d[0] for d in cursor.description or []]
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    if not rows:
        raise InputError(f"customer '{customer_id}' is not in run {run.run_id}")
    return card_from_row(run, run_policy(run), rows[0], lang)


def card_from_row(run: Run, policy: Policy, row: dict[str, Any], lang: str = "zh") -> dict[str, Any]:
    """One result row as a card: labels, scores, tags with their actions, service, reasons."""
    score_cols = {key: row[key] for key in score_columns(policy) if key in row}
    service = policy.service.get(str(row["tier"]))
    tags = [t for t in str(row.get("tags") or "").split(",") if t]
    actions = {t.name: t.action for t in policy.tags if t.name in tags}
    metrics = {k: _plain(v) for k, v in row.items() if k in policy.metrics}
    for name, spec in policy.metrics.items():
        if spec.churn == "signals" and name in metrics:  # what drove the churn risk, most first
            from tierkit.models.churn import signal_labels

            metrics[name] = signal_labels(metrics[name], lang)
    return {
        "customer_id": row["customer_id"],
        "run_id": run.run_id,
        "as_of": run.manifest["as_of"],
        "tier": row["tier"],
        "tier_label": tier_labels(policy, run.manifest.get("tiers") or [], lang).get(str(row["tier"]), row["tier"]),
        "scores": score_cols,
        "tags": tags,
        "tag_actions": actions,
        "service": service.model_dump() if service else None,
        "metrics": metrics,
        "reasons": json.loads(row["reasons"]),
    }


def _plain(value: Any) -> Any:
    """A metric value as JSON shows it, as in the reasons: decimals as numbers, dates as text."""
    if isinstance(value, Decimal):
        return float(value)
    if value is None or isinstance(value, int | float | str | bool):
        return value
    return str(value)
