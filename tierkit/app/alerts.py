"""Alerts as use cases: emitted when a run is published, read in each owner's inbox.

`emit` runs after every publish (a grading that publishes, `tierkit publish`, the workbench's
publish button, a scheduled grading): the events between the run that was current and the new
one (tierkit/runs/changes.py), worded in the workspace's language, written to the store once
per event id and queued for every webhook that wants them (tierkit/app/webhooks.py sends them).
The first run of a workspace emits nothing: with nothing before it, nothing changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from tierkit.app.customers import Caller
from tierkit.app.masking import agent_view
from tierkit.app.owners import owner_table
from tierkit.app.serving import ServedWorkspace
from tierkit.backends import connect
from tierkit.errors import InputError, NotFoundError, did_you_mean
from tierkit.policy.alerts import EVENTS, AlertRules
from tierkit.policy.labels import tag_labels, tier_labels
from tierkit.policy.model import Policy
from tierkit.runs.card import run_policy
from tierkit.runs.changes import changes
from tierkit.runs.files import load_run, store_of
from tierkit.runs.reasons_text import tier_in_words
from tierkit.settings import DEFAULT_LANG
from tierkit.store import alerts as stored
from tierkit.store.webhooks import enqueue
from tierkit.workspace import Workspace

__all__ = ["EVENTS", "check_event", "emit", "inbox", "mark_read"]

WORDS = {
    "zh": {
        "tier_up": "等级上升: {old} → {new}",
        "tier_down": "等级下降: {old} → {new}",
        "churn_risk": "流失风险 {new} 达到阈值 {above}（上次 {old}）",
        "signals": "主要信号: {signals}",
        "tag_added": "新标签 {label}: {when}",
        "key_customer_lost": "关键客户流失: 上次为{tier}，已 {new} 天没有购买（超过 {after} 天；上次 {old} 天）",
    },
    "en": {
        "tier_up": "Moved up: {old} → {new}",
        "tier_down": "Moved down: {old} → {new}",
        "churn_risk": "Churn risk {new} reached the threshold {above} (was {old})",
        "signals": "Main signals: {signals}",
        "tag_added": "New tag {label}: {when}",
        "key_customer_lost": "Key customer lost: was {tier}, no order for {new} days (over {after}; {old} days before)",
    },
}


def event_id(before: str, after: str, event: str, customer_id: str, new: str | None) -> str:
    """The same change between the same two runs is the same event, however often it is emitted."""
    return hashlib.sha256(f"{before}|{after}|{event}|{customer_id}|{new}".encode()).hexdigest()[:32]


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f}".rstrip("0").rstrip(".")


def _worded(row: dict[str, Any], policy: Policy, rules: AlertRules, tiers: list[str], lang: str) -> list[str]:
    """The reasons of one event, as the owner reads them."""
    words = WORDS.get(lang, WORDS["en"])
    labels = tier_labels(policy, tiers, lang)
    event = row["event"]
    shown = agent_view(policy)  # an owner's inbox is an agent's: a rule on a name quotes no name
    if event in ("tier_up", "tier_down"):
        said = [words[event].format(old=labels.get(row["old"], row["old"]), new=labels.get(row["new"], row["new"]))]
        tier = json.loads(row["why"]) if row["why"] else None
        if isinstance(tier, dict) and tier.get("when"):
            tier["when"] = shown.rule(tier["when"])
        stability = json.loads(row["stability"]) if row["stability"] else None
        return said + tier_in_words(policy, tiers, tier, stability, lang, row["new"])
    if event == "churn_risk":
        above = _number(float(rules.churn_risk.above)) if rules.churn_risk else "?"
        said = [words[event].format(new=row["new"], old=row["old"] or "-", above=above)]
        return said + ([words["signals"].format(signals=row["why"])] if row["why"] else [])
    if event == "tag_added":
        label = tag_labels(policy, lang).get(row["new"], row["new"])
        return [words[event].format(label=label, when=shown.rule(row["why"] or ""))]
    after = rules.key_customer_lost.after_days if rules.key_customer_lost else "?"
    tier = labels.get(row["why"], row["why"])
    return [words[event].format(tier=tier, new=row["new"], old=row["old"], after=after)]


def emit(ws: Workspace, before_id: str | None, after_id: str, now: dt.datetime | None = None) -> dict[str, int]:
    """Record the events of publishing `after_id` over `before_id`; counts per event of the run."""
    if before_id is None or before_id == after_id:
        return {}
    after, before = load_run(ws, after_id), load_run(ws, before_id)
    policy = run_policy(after)
    rules = policy.alerts
    if rules is None:
        return {}
    backend = connect("duckdb")
    found = backend.to_pyarrow(changes(backend, before, after, policy, owner_table(backend, ws)))
    lang = ws.setting("lang", DEFAULT_LANG)
    tiers = list(after.manifest.get("tiers") or [])
    now = now or dt.datetime.now(dt.UTC)
    rows = []
    for row in found.to_pylist():
        if row["event"] in ("churn_risk", "key_customer_lost"):
            row["old"], row["new"] = _number(row["old_number"]), _number(row["new_number"])
        rows.append(
            {
                "event_id": event_id(before.run_id, after.run_id, row["event"], row["customer_id"], row["new"]),
                "run_id": after.run_id,
                "previous_run_id": before.run_id,
                "event": row["event"],
                "customer_id": row["customer_id"],
                "owner": row["owner"],
                "old": row["old"],
                "new": row["new"],
                "reasons": json.dumps(_worded(row, policy, rules, tiers, lang), ensure_ascii=False),
                "created_at": now,
            }
        )
    engine = store_of(ws)
    stored.add(engine, rows)
    enqueue(engine, after.run_id, now)
    return stored.of_run(engine, after.run_id)


def check_event(event: str | None) -> str | None:
    if event is not None and event not in EVENTS:
        raise InputError(f"unknown event '{event}' (events: {', '.join(EVENTS)}){did_you_mean(event, list(EVENTS))}")
    return event


def inbox(
    served: ServedWorkspace,
    caller: Caller,
    *,
    owner: str | None = None,
    event: str | None = None,
    run: str | None = None,
    customer_id: str | None = None,
    unread: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """An agent's own alerts (the customers they own); staff see everyone's, or one owner's."""
    mine = caller.name if caller.role == "agent" else owner
    run_id = None if run is None else load_run(served.workspace, run).run_id
    found = stored.inbox(
        served.store,
        owner=mine,
        event=check_event(event),
        run_id=run_id,
        customer_id=customer_id,
        unread=unread,
        limit=limit,
        offset=offset,
    )
    return {"owner": mine, **found}


def mark_read(served: ServedWorkspace, caller: Caller, alert_id: int) -> dict[str, Any]:
    """Mark one alert read; an agent only their own (another's is not found, as if not there)."""
    found = stored.one(served.store, alert_id)
    if found is None or (caller.role == "agent" and found["owner"] != caller.name):
        raise NotFoundError(f"no alert {alert_id}")
    stored.mark_read(served.store, [alert_id], caller.name, dt.datetime.now(dt.UTC))
    return stored.one(served.store, alert_id) or found
