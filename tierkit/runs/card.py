"""The customer card: one customer's tier, scores, tags, service and the reasons for each."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Protocol

from tierkit.backends import connect
from tierkit.errors import InputError
from tierkit.policy.kinds import shown
from tierkit.policy.labels import class_column, score_columns, score_labels, service_card, tag_rules, tier_labels
from tierkit.policy.loader import parse_policy
from tierkit.policy.model import Policy, TagRule
from tierkit.runs.files import POLICY, Run
from tierkit.runs.reasons_full import full_reasons
from tierkit.runs.reasons_text import reasons_in_words
from tierkit.runs.stability import stability_card
from tierkit.settings import DEFAULT_LANG

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def run_policy(run: Run) -> Policy:
    """The policy a run was graded with (segment maps resolved)."""
    resolved = run.path / POLICY
    if resolved.exists():
        return Policy.model_validate(json.loads(resolved.read_text("utf-8")))
    # runs written before policy.json was kept
    return parse_policy((run.path / "policy.yaml").read_text("utf-8"), f"{run.run_id}/policy.yaml").policy


def customer_card(
    run: Run, customer_id: str, lang: str = DEFAULT_LANG, manual_tier: str | None = None
) -> dict[str, Any]:
    """The card in a language: labels come from the run's policy, not the language it was graded in.
    `manual_tier` is a person's override in force: it decides the tier and its service."""
    backend = connect("duckdb")
    result = backend.read_parquet(run.result)
    rows = backend.to_pyarrow(result.filter(result.customer_id == customer_id)).to_pylist()
    if not rows:
        raise InputError(f"customer '{customer_id}' is not in run {run.run_id}")
    return card_from_row(run, run_policy(run), rows[0], lang, manual_tier)


class Reader(Protocol):
    """How values and rule texts are shown to the card's reader (an agent: personal ones masked,
    see tierkit.app.masking.AgentView); None shows them as graded."""

    def value(self, name: str, value: Any) -> Any: ...

    def rule(self, text: Any) -> Any: ...


def card_from_row(
    run: Run,
    policy: Policy,
    row: dict[str, Any],
    lang: str = DEFAULT_LANG,
    manual_tier: str | None = None,
    reader: Reader | None = None,
) -> dict[str, Any]:
    """One result row as a card: the tier in effect (a person's override, else the graded tier)
    with its label and service, the graded tier beside it, scores, tags with their actions, and
    the reasons. Everything a reader sees is in `lang`; names stay as keys for programs. With a
    `reader`, every value (metrics, the reasons' values, `{metric}` in actions, the sentences of
    `why`) and rule text passes through it before anything is built from it."""
    labels = tier_labels(policy, run.manifest.get("tiers") or [], lang)
    graded = str(row["tier"])
    tier = manual_tier or graded
    score_cols = {key: row[key] for key in score_columns(policy) if key in row}
    names = [t for t in str(row.get("tags") or "").split(",") if t]
    rules = tag_rules(policy)
    tags = [_tag(rules.get(name), name, lang, row, policy, reader) for name in names]
    metrics = {k: _plain(v) for k, v in row.items() if k in policy.metrics}
    for name, spec in policy.metrics.items():
        if spec.plugin is not None and name in metrics:  # e.g. what drove the churn risk, in words
            metrics[name] = shown(spec.plugin.kind, spec.plugin.parameters, metrics[name], lang)
    reasons = full_reasons(row["reasons"], row, policy)
    if reader is not None:
        metrics = {k: reader.value(k, v) for k, v in metrics.items()}
        _read_reasons(reasons, reader)
    shown_scores = {}
    for name, score in policy.scores.items():  # each score's class by its label ("A类 重要成熟客户")
        column = class_column(name, score)
        if row.get(column) is not None:
            shown_scores[name] = score_labels(score, lang).get(str(row[column]), str(row[column]))
    return {
        "customer_id": row["customer_id"],
        "run_id": run.run_id,
        "as_of": run.manifest["as_of"],
        "lang": lang,
        "tier": tier,
        "tier_label": labels.get(tier, tier),
        "manual": manual_tier is not None,
        "automatic_tier": graded,
        "automatic_tier_label": labels.get(graded, graded),
        "scores": score_cols,
        "tags": tags,
        "service": service_card(policy, tier, lang),
        "metrics": metrics,
        "model_notes": model_notes(run.manifest, lang) if any(s.plugin for s in policy.metrics.values()) else [],
        "score_labels": shown_scores,
        # the tier sentence says what the rules gave (graded_tier: stable tiers may keep another)
        "why": reasons_in_words(
            policy, run.manifest.get("tiers") or [], reasons, lang, str(row.get("graded_tier") or graded)
        ),
        "stability": stability_card(policy, run.manifest.get("tiers") or [], row, reasons, lang),
        "reasons": reasons,
    }


def model_notes(manifest: dict[str, Any], lang: str) -> list[str]:
    """How far to trust a model's figures on the card: whether the churn risk comes from the model
    (and how it did on validation) or from the recency baseline, and why."""
    churn = (manifest.get("models") or {}).get("churn")
    if not churn:
        return []
    check = churn.get("validation") or {}
    model, recency = check.get("model_auc"), check.get("recency_auc")
    zh = lang == "zh"
    if churn.get("used") == "model":
        return [
            f"流失风险：模型（验证 AUC {model}，最近购买 {recency}）"
            if zh
            else f"Churn risk: model (validation AUC {model} vs recency {recency})"
        ]
    if check.get("status") == "failed":
        margin = check.get("margin")
        return [
            f"流失风险：最近购买基线（模型验证未胜出：AUC {model} 对 {recency}，需领先 {margin}）"
            if zh
            else f"Churn risk: recency baseline — the model did not beat recency on validation "
            f"(AUC {model} vs {recency}; must lead by {margin})"
        ]
    return [
        "流失风险：最近购买基线（历史不足，无法验证）"
        if zh
        else "Churn risk: recency baseline — not enough history to validate"
    ]


def _read_reasons(reasons: dict[str, Any], reader: Reader) -> None:
    """The reasons as `reader` may see them: the values behind them, and each rule's text."""
    if isinstance(reasons.get("values"), dict):
        reasons["values"] = {k: reader.value(k, v) for k, v in reasons["values"].items()}
    tier = reasons.get("tier")
    if isinstance(tier, dict) and "when" in tier:
        tier["when"] = reader.rule(tier["when"])
    for entry in (reasons.get("tags") or {}).values() if isinstance(reasons.get("tags"), dict) else ():
        if isinstance(entry, dict) and "when" in entry:
            entry["when"] = reader.rule(entry["when"])


def _tag(
    rule: TagRule | None, name: str, lang: str, row: dict[str, Any], policy: Policy, reader: Reader | None = None
) -> dict[str, Any]:
    """A tag as the front line reads it: its label, its identification class and what to do, in
    the reader's language; `{metric}` in an action is the customer's value ("推荐 (美妆)")."""
    label = rule.label.text(lang, name) if rule is not None and rule.label else name
    action = rule.action.text(lang, "") if rule is not None and rule.action else ""

    def value(found: re.Match[str]) -> str:
        key = found[1]
        if key not in row:
            return found[0]
        return str(_plain(row[key]) if reader is None else reader.value(key, _plain(row[key])))

    action = PLACEHOLDER.sub(value, action)
    group = rule.group if rule is not None else None
    known = policy.tag_groups
    group_label = known[group].text(lang, group) if group and group in known else None
    return {"name": name, "label": label, "action": action or None, "group": group, "group_label": group_label}


def _plain(value: Any) -> Any:
    """A metric value as JSON shows it, as in the reasons: decimals as numbers, dates as text."""
    if isinstance(value, Decimal):
        return float(value)
    if value is None or isinstance(value, int | float | str | bool):
        return value
    return str(value)
