"""The customer card: one customer's tier, scores, tags, service and the reasons for each."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tierkit.backends import connect
from tierkit.errors import InputError
from tierkit.policy.kinds import shown
from tierkit.policy.labels import score_columns, tier_labels
from tierkit.policy.loader import parse_policy
from tierkit.policy.model import Policy
from tierkit.runs.files import POLICY, Run
from tierkit.settings import DEFAULT_LANG


def run_policy(run: Run) -> Policy:
    """The policy a run was graded with (segment maps resolved)."""
    resolved = run.path / POLICY
    if resolved.exists():
        return Policy.model_validate(json.loads(resolved.read_text("utf-8")))
    # runs written before policy.json was kept
    return parse_policy((run.path / "policy.yaml").read_text("utf-8"), f"{run.run_id}/policy.yaml").policy


def customer_card(run: Run, customer_id: str, lang: str = DEFAULT_LANG) -> dict[str, Any]:
    """The card in a language: labels come from the run's policy, not the language it was graded in."""
    backend = connect("duckdb")
    result = backend.read_parquet(run.result)
    rows = backend.to_pyarrow(result.filter(result.customer_id == customer_id)).to_pylist()
    if not rows:
        raise InputError(f"customer '{customer_id}' is not in run {run.run_id}")
    return card_from_row(run, run_policy(run), rows[0], lang)


def card_from_row(run: Run, policy: Policy, row: dict[str, Any], lang: str = DEFAULT_LANG) -> dict[str, Any]:
    """One result row as a card: labels, scores, tags with their actions, service, reasons."""
    score_cols = {key: row[key] for key in score_columns(policy) if key in row}
    service = policy.service.get(str(row["tier"]))
    tags = [t for t in str(row.get("tags") or "").split(",") if t]
    actions = {t.name: t.action for t in policy.tags if t.name in tags}
    metrics = {k: _plain(v) for k, v in row.items() if k in policy.metrics}
    for name, spec in policy.metrics.items():
        if spec.plugin is not None and name in metrics:  # e.g. what drove the churn risk, in words
            metrics[name] = shown(spec.plugin.kind, spec.plugin.parameters, metrics[name], lang)
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
