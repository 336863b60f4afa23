"""Tags people give, as use cases: a 集团关键人 the data cannot see, a blacklisted complainer.

Analysts and admins give and remove them (agents see them on the card); each change is audited.
A tag the policy names keeps its label and action; any other name is allowed too (a manual
list of 校园客户), shown as given.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tierkit.app.customers import Caller, graded_row
from tierkit.app.instants import future_instant
from tierkit.app.serving import ServedWorkspace
from tierkit.errors import NotFoundError, ValueRefusedError
from tierkit.policy.labels import tag_rules
from tierkit.policy.model import Policy
from tierkit.store import manual_tags

MAX_TAG = 100


def _check(tag: str, expires: dt.datetime | None) -> dt.datetime | None:
    if not tag.strip() or len(tag) > MAX_TAG or "," in tag:
        raise ValueRefusedError(f"tag '{tag}': give a name of 1 to {MAX_TAG} characters without commas")
    return None if expires is None else future_instant(expires)


def policy_name(policy: Policy, given: str) -> str:
    """The policy's name for a tag given by its name or its label in any language (集团关键人 ->
    key_person), so a tag given by hand and the same tag from the data are one tag on the card."""
    for rule in policy.tags:
        if given == rule.name or (rule.label is not None and given in (rule.label.zh, rule.label.en)):
            return rule.name
    return given


def give(
    served: ServedWorkspace, customer_id: str, tag: str, reason: str, expires: dt.datetime | None, caller: Caller
) -> dict[str, Any]:
    """Give a customer a tag by hand, with a reason (and an expiry, or until removed)."""
    snapshot = served.snapshot()
    graded_row(snapshot, customer_id)
    when = _check(tag, expires)
    tag = policy_name(snapshot.policy, tag.strip())
    if not reason.strip():
        raise ValueRefusedError("a manual tag needs a reason")
    given = manual_tags.give(served.store, customer_id, tag.strip(), reason, when, caller.name)
    served.forget("manual_tags")
    detail = {"tag": given.tag, "reason": reason, "expires": when.isoformat() if when else None}
    served.audit.record(caller.name, caller.role, "tag", customer_id, json.dumps(detail, ensure_ascii=False), now=True)
    return {"customer_id": customer_id, "tag": given.tag, "expires": when, "by": caller.name}


def remove(served: ServedWorkspace, customer_id: str, tag: str, caller: Caller) -> int:
    names = {tag, policy_name(served.snapshot().policy, tag)}  # as given, or the policy's name for it
    ended = sum(manual_tags.remove(served.store, customer_id, name, caller.name) for name in names)
    served.forget("manual_tags")
    if not ended:
        raise NotFoundError(f"customer '{customer_id}' has no manual tag '{tag}'")
    served.audit.record(caller.name, caller.role, "untag", customer_id, tag, now=True)
    return ended


def card_tags(policy: Policy, lang: str, served: ServedWorkspace, customer_id: str) -> list[dict[str, Any]]:
    """A customer's manual tags as the card shows them: label and action from the policy when it
    names the tag, and who gave it, why, until when."""
    rules = tag_rules(policy)
    shown = []
    for given in served.manual_tags().get(customer_id, []):
        rule = rules.get(given.tag)
        shown.append(
            {
                "name": given.tag,
                "label": rule.label.text(lang, given.tag) if rule and rule.label else given.tag,
                "action": (rule.action.text(lang, "") or None) if rule and rule.action else None,
                "group": rule.group if rule else None,
                "group_label": policy.tag_groups[rule.group].text(lang, rule.group)
                if rule and rule.group and rule.group in policy.tag_groups
                else None,
                "manual": {"by": given.created_by, "reason": given.reason, "expires": given.expires},
            }
        )
    return shown


def give_many(
    workspace: Path | None, ids: list[str], tag: str, reason: str, expires: dt.datetime | None, by: str
) -> int:
    """Give one tag to customers from the command line (one, or a campus list), audited as `by`."""
    served = ServedWorkspace.open(workspace)
    try:
        caller = Caller(by, "admin")
        for customer_id in ids:
            give(served, customer_id, tag, reason, expires, caller)
        return len(ids)
    finally:
        served.close()


def remove_one(workspace: Path | None, customer_id: str, tag: str, by: str) -> int:
    served = ServedWorkspace.open(workspace)
    try:
        return remove(served, customer_id, tag, Caller(by, "admin"))
    finally:
        served.close()
