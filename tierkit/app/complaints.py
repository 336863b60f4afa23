"""Complaints as use cases: taken from the card, resolved, shown before the agent answers.

Anyone at the front line may take one (agents included); resolving records the resolution.
A serial complainer (the policy's tag, or a manual one) is flagged at the top of the card:
"提示投诉专业户", as the telecom deck asks of the system.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from tierkit.app.customers import Caller, graded_row
from tierkit.app.serving import ServedWorkspace
from tierkit.errors import NotFoundError, ValueRefusedError
from tierkit.store import complaints as complaint_log

SERIAL = ("serial_complainer", "投诉专业户", "blacklist")  # tags that mean: warn before answering
ALERT = {
    "zh": "提示投诉专业户: 先看投诉记录再答复",
    "en": "Serial complainer: read the complaint history before answering",
}


def take(
    served: ServedWorkspace, customer_id: str, topic: str, channel: str | None, detail: str | None, caller: Caller
) -> dict[str, Any]:
    """Record a complaint (open); the card shows it at once and the next grading counts it."""
    graded_row(served.snapshot(), customer_id)
    if not topic.strip():
        raise ValueRefusedError("a complaint needs a topic")
    taken = complaint_log.take(served.store, customer_id, topic.strip(), channel, detail, caller.name)
    served.forget("complained")
    served.audit.record(caller.name, caller.role, "complaint", customer_id, topic, now=True)
    return asdict(taken)


def resolve(
    served: ServedWorkspace, customer_id: str, complaint_id: int, resolution: str, caller: Caller
) -> dict[str, Any]:
    """Close a complaint of this customer with how it was resolved."""
    if not resolution.strip():
        raise ValueRefusedError("say how the complaint was resolved")
    mine = {c.id for c in complaint_log.of_customer(served.store, customer_id, limit=10_000)}
    if complaint_id not in mine:
        raise NotFoundError(f"customer '{customer_id}' has no complaint {complaint_id}")
    done = complaint_log.resolve(served.store, complaint_id, resolution)
    if done is None:
        raise NotFoundError(f"no complaint {complaint_id}")
    detail = json.dumps({"complaint": complaint_id, "resolution": resolution}, ensure_ascii=False)
    served.audit.record(caller.name, caller.role, "resolve_complaint", done.customer_id, detail, now=True)
    return asdict(done)


def alerts(tag_names: list[str], complaints: list[dict[str, Any]], lang: str) -> list[str]:
    """What the agent must see before anything else on the card."""
    found = []
    if any(name in SERIAL for name in tag_names):
        found.append(ALERT.get(lang, ALERT["en"]))
    open_ones = [c for c in complaints if c["status"] == "open"]
    if open_ones:
        found.append(f"{len(open_ones)} 个投诉未解决" if lang == "zh" else f"{len(open_ones)} complaint(s) still open")
    return found
