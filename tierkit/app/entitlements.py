"""Entitlements at the counter: what a customer may have now, and a use recorded against its limit.

What a customer is entitled to comes from the published run's policy: the service of the tier
in effect (a person's override while it lasts, else the graded tier) plus what their tags grant
(`tag_entitlements:`), graded tags and tags people gave alike (a 集团关键人 given by hand gets
the 5-star set in telecom-stars). A limit counts the uses recorded in the store in the current
calendar year or month, where the policy lives (`inputs.timezone`). A use the customer is not
granted, or whose limit is spent, is refused with the reason in words (`ConflictError`, 409);
a code the policy does not define is bad input (`RequestError`, 400); every use is audited.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tierkit.app.customers import Caller, graded_row, resolve_id
from tierkit.app.serving import ServedWorkspace, Snapshot
from tierkit.errors import ConflictError, RequestError, did_you_mean
from tierkit.policy.entitlements import Granted, Window, grants, known_codes, label, period_of
from tierkit.policy.labels import tag_labels, tier_labels
from tierkit.policy.memo import per_policy
from tierkit.policy.model import Policy
from tierkit.store import entitlements as uses_store

MAX_NOTE = 2000
ATTEMPTS = 3  # a limited use whose slot another counter took at the same moment counts again


@dataclass(frozen=True)
class Standing:
    """One customer as the entitlements see them: run, tier in effect, tags, what is granted."""

    customer_id: str
    snapshot: Snapshot
    tier: str
    manual: bool
    tags: list[str]
    granted: dict[str, Granted]
    lang: str

    @property
    def policy(self) -> Policy:
        return self.snapshot.policy


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    return now.astimezone(dt.UTC) if now.tzinfo else now.replace(tzinfo=dt.UTC)


def _standing(
    served: ServedWorkspace, customer_id: str, lang: str | None, now: dt.datetime, snapshot: Snapshot | None = None
) -> Standing:
    snapshot = snapshot or served.snapshot()
    customer_id, _note = resolve_id(served, snapshot, customer_id)
    row = graded_row(snapshot, customer_id)
    manual = served.overrides().get(customer_id)
    if manual is not None and manual.expires <= now:
        manual = None
    tier = str(manual.tier) if manual is not None else str(row["tier"])
    tags = [t for t in str(row.get("tags") or "").split(",") if t]
    tags += [g.tag for g in served.manual_tags().get(customer_id, []) if g.tag not in tags]
    granted = dict(_grants(snapshot.policy, tier, tags))  # a copy: the remembered one is shared
    return Standing(customer_id, snapshot, tier, manual is not None, tags, granted, lang or served.settings.lang)


# what a tier and tags grant, once per policy and combination (every card asks)
_grants = per_policy(grants)


def code_of(policy: Policy, given: str) -> str:
    """The policy's code for an entitlement given by its code or its label in either language
    (免费补卡 -> free_sim_replacement); a code the policy does not define is bad input."""
    codes = known_codes(policy)
    if given in codes:
        return given
    for code, entry in policy.entitlements.items():
        if entry.label is not None and given in (entry.label.zh, entry.label.en):
            return code
    shown = ", ".join(codes) if codes else "none"
    raise RequestError(
        f"'{given}' is not an entitlement of policy '{policy.name}'{did_you_mean(given, codes)} (entitlements: {shown})"
    )


def _window(policy: Policy, granted: Granted, now: dt.datetime) -> Window | None:
    return period_of(granted.per, now, policy.inputs.offset) if granted.limit is not None and granted.per else None


def _who(standing: Standing, granted: Granted) -> list[dict[str, str]]:
    return [
        {"kind": kind, "name": name, "label": label}
        for kind, name, label in _grantors(standing.policy, granted.by, standing.lang)
    ]


@per_policy
def _grantors(policy: Policy, by: tuple[tuple[str, str], ...], lang: str) -> tuple[tuple[str, str, str], ...]:
    """The tiers and tags that grant an entitlement, with their labels (on every card)."""
    tiers, tags = tier_labels(policy, list(policy.service), lang), tag_labels(policy, lang)
    return tuple((kind, name, (tiers if kind == "tier" else tags).get(name, name)) for kind, name in by)


def _item(standing: Standing, granted: Granted, used: int | None, now: dt.datetime) -> dict[str, Any]:
    window = _window(standing.policy, granted, now)
    return {
        "code": granted.code,
        "label": label(standing.policy, granted.code, standing.lang),
        "limit": granted.limit,
        "period": granted.per if granted.limit is not None else None,
        "used": used if window is not None else None,
        "remaining": max(granted.limit - (used or 0), 0) if granted.limit is not None else None,
        "renews_on": (window.last_day + dt.timedelta(days=1)).isoformat() if window is not None else None,
        "granted_by": _who(standing, granted),
    }


def _items(served: ServedWorkspace, standing: Standing, now: dt.datetime) -> list[dict[str, Any]]:
    windows = {code: _window(standing.policy, g, now) for code, g in standing.granted.items()}
    starts = [w.start for w in windows.values() if w is not None]
    times = uses_store.times_since(served.store, standing.customer_id, min(starts)) if starts else []
    items = []
    for code, granted in standing.granted.items():
        window = windows[code]
        used = sum(1 for c, at in times if c == code and window.start <= at < window.end) if window else None
        items.append(_item(standing, granted, used, now))
    return items


def entitlements(
    served: ServedWorkspace,
    customer_id: str,
    lang: str | None = None,
    now: dt.datetime | None = None,
    snapshot: Snapshot | None = None,
) -> list[dict[str, Any]]:
    """The customer's entitlements in effect, in the policy's order: `{code, label, limit, period,
    used, remaining, renews_on, granted_by}`; `limit`, `remaining` and `period` are null when unlimited.
    `snapshot`: the run the request took at its start (a card's), else the current one."""
    at = _now(now)
    standing = _standing(served, customer_id, lang, at, snapshot)
    return _items(served, standing, at)


def _granted_to(standing: Standing, code: str) -> str:
    """Who the policy grants a code to, in words: the tiers and tags that list it."""
    policy, zh = standing.policy, standing.lang == "zh"
    tiers = tier_labels(policy, list(policy.service), standing.lang)
    names = [tiers.get(t, t) for t, s in policy.service.items() if code in [g.code for g in s.entitlements]]
    tagged_as = tag_labels(policy, standing.lang)
    tagged = [
        tagged_as.get(tag, tag)
        for tag, given in policy.tag_entitlements.items()
        if code in [g.code for g in given.entitlements]
        or (given.same_as in policy.service and code in [g.code for g in policy.service[given.same_as].entitlements])
    ]
    if not names and not tagged:
        return "政策中没有等级或标签享有此权益" if zh else "no tier or tag of the policy grants it"
    if zh:
        return "享有此权益的：" + "、".join(names + [f"标签 {t}" for t in tagged])
    return "it comes with " + ", ".join(names + [f"the tag {t}" for t in tagged])


def _refusal(standing: Standing, code: str, used: int | None, now: dt.datetime) -> str | None:
    """Why the customer may not use `code` now, in words; None when they may."""
    policy, zh, cid = standing.policy, standing.lang == "zh", standing.customer_id
    shown = f"{label(policy, code, standing.lang)} ({code})"
    tier = tier_labels(policy, [*policy.service, standing.tier], standing.lang).get(standing.tier, standing.tier)
    granted = standing.granted.get(code)
    if granted is None:
        who = _granted_to(standing, code)
        if zh:
            return f"客户 {cid} 不享有 {shown}：当前等级 {tier} 不含此权益；{who}"
        return f"customer {cid} is not entitled to {shown}: the tier {tier} does not include it; {who}"
    window = _window(policy, granted, now)
    if window is None or granted.limit is None or (used or 0) < granted.limit:
        return None
    again = (window.last_day + dt.timedelta(days=1)).isoformat()
    if zh:
        unit = "年" if granted.per == "year" else "月"
        spent = f"每{unit} {granted.limit} 次，{window.key} 已用 {used} 次，已用完"
        return f"客户 {cid} 的 {shown} {spent}；{again} 起可再用"
    return (
        f"customer {cid} has used up {shown}: {granted.limit} a {granted.per}, {used} used in {window.key}; "
        f"available again from {again}"
    )


def check(
    served: ServedWorkspace, customer_id: str, code: str, lang: str | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Whether the customer may use an entitlement now: `{customer_id, code, allowed, reason,
    tier, run_id, entitlement}` (the entitlement as listed, or None when not granted)."""
    at = _now(now)
    standing = _standing(served, customer_id, lang, at)
    code = code_of(standing.policy, code)
    used = _used(served, standing, code, at)
    reason = _refusal(standing, code, used, at)
    granted = standing.granted.get(code)
    return {
        "customer_id": standing.customer_id,
        "code": code,
        "allowed": reason is None,
        "reason": reason,
        "tier": standing.tier,
        "manual": standing.manual,
        "run_id": standing.snapshot.run.run_id,
        "entitlement": _item(standing, granted, used, at) if granted is not None else None,
    }


def _used(served: ServedWorkspace, standing: Standing, code: str, now: dt.datetime) -> int | None:
    granted = standing.granted.get(code)
    window = _window(standing.policy, granted, now) if granted is not None else None
    if window is None:
        return None
    return uses_store.count(served.store, standing.customer_id, code, window.start, window.end)


def use(
    served: ServedWorkspace,
    customer_id: str,
    code: str,
    caller: Caller,
    note: str | None = None,
    lang: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Record that the customer used an entitlement (at the counter, on the phone), audited.
    Refused with the reason (ConflictError) when not granted or when its limit is spent; returns
    the use and the entitlement as it stands after it."""
    at = _now(now)
    if note is not None and len(note) > MAX_NOTE:
        raise RequestError(f"note: at most {MAX_NOTE} characters")
    standing = _standing(served, customer_id, lang, at)
    code = code_of(standing.policy, code)
    for _attempt in range(ATTEMPTS):
        used = _used(served, standing, code, at)
        reason = _refusal(standing, code, used, at)
        if reason is not None:
            raise ConflictError(reason)
        granted = standing.granted[code]
        window = _window(standing.policy, granted, at)
        slot = f"{window.key}#{(used or 0) + 1}" if window is not None else None
        try:
            done = uses_store.record(
                served.store,
                standing.customer_id,
                code,
                at,
                caller.name,
                standing.snapshot.run.run_id,
                standing.tier,
                note,
                slot,
            )
        except uses_store.SlotTaken:
            continue
        break
    else:
        raise ConflictError(f"{code}: other uses were recorded at the same moment; try again")
    after = _item(standing, granted, (used or 0) + 1 if window is not None else None, at)
    detail = {"code": code, "run": done.run_id, "tier": done.tier, "use": done.id, "remaining": after["remaining"]}
    if note:
        detail["note"] = note
    shown = json.dumps(detail, ensure_ascii=False)
    served.audit.record(caller.name, caller.role, "use_entitlement", standing.customer_id, shown, now=True)
    use_info = {"id": done.id, "at": done.at, "by": done.by, "run_id": done.run_id, "tier": done.tier, "note": note}
    return {"customer_id": standing.customer_id, "use": use_info, "entitlement": after}


def _served(workspace: Path | None) -> ServedWorkspace:
    return ServedWorkspace.open(workspace)


def check_in(
    workspace: Path | None, customer_id: str, code: str, lang: str | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """`check` on a workspace, for the command line."""
    served = _served(workspace)
    try:
        return check(served, customer_id, code, lang, now)
    finally:
        served.close()


def list_in(workspace: Path | None, customer_id: str, lang: str | None = None) -> list[dict[str, Any]]:
    served = _served(workspace)
    try:
        return entitlements(served, customer_id, lang)
    finally:
        served.close()


def use_in(
    workspace: Path | None, customer_id: str, code: str, by: str, note: str | None = None, lang: str | None = None
) -> dict[str, Any]:
    """`use` on a workspace, for the command line, audited as `by` (an admin: whoever runs it)."""
    served = _served(workspace)
    try:
        return use(served, customer_id, code, Caller(by, "admin"), note, lang)
    finally:
        served.close()
