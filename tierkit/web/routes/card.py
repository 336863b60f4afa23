"""/app/customers/{id}: the card a front-line agent keeps open, and the two things done on it.

Everything shown comes from the application layer's card (tierkit.app.card.full_card), the same
card the API serves: tier in effect and why, service, tags with their actions, model figures
and what drove them, complaints, contacts, history. An agent's card carries masked personal
data only; a value the policy reads from a personal field (a metric `{expr: "name"}`) is
withheld from an agent here as well. Logging a contact and recording an entitlement's use (anyone), and
setting the tier by hand (staff) are forms with the session's CSRF token; each answers with a
redirect back to the card, or the card with the reason when it is refused (a spent limit).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tierkit.app import customers as uses
from tierkit.app import entitlements as counter
from tierkit.app.card import full_card
from tierkit.app.choices import tier_choices
from tierkit.app.masking import PERSONAL
from tierkit.app.serving import ServedWorkspace
from tierkit.app.text import clean_text
from tierkit.errors import ConflictError, TierkitError
from tierkit.web.render import page
from tierkit.web.visitors import FormDep, PageRefused, ServiceDep, Visitor, VisitorDep

router = APIRouter(prefix="/app", include_in_schema=False)
CHANNELS = ("phone", "visit", "wechat", "sms", "email", "store")
OUTCOMES = ("reached", "no_answer", "callback", "sold", "refused")


def _withheld(card: dict[str, Any], clear: dict[str, Any] | None) -> dict[str, Any]:
    """An agent's card without any value equal to one of the customer's clear personal fields."""
    secrets = {str(v) for k, v in (clear or {}).items() if k in PERSONAL and v}
    if not secrets:
        return card
    card["metrics"] = {k: v for k, v in card["metrics"].items() if str(v) not in secrets}
    card["scores"] = {k: v for k, v in card["scores"].items() if str(v) not in secrets}
    card["why"] = [w for w in card["why"] if not any(s in w for s in secrets)]
    return card


def _metric_rows(served: ServedWorkspace, card: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy's metrics as the card lists them: name, description and value, the model's
    figures (CLV, churn) apart."""
    policy = served.snapshot().policy
    rows = []
    for name, value in card["metrics"].items():
        spec = policy.metrics.get(name)
        kind = spec.kind if spec else None
        rows.append({"name": name, "description": spec.description if spec else None, "value": value, "kind": kind})
    return rows


def _card(served: ServedWorkspace, seen: Visitor, customer_id: str) -> dict[str, Any]:
    found = full_card(served, customer_id, seen.caller, seen.lang)
    if seen.role == "agent":
        found = _withheld(found, served.person(found["customer_id"]))
    # grouped by their class (客户身份, 投诉 ...) as the agent reads them; the policy's order within
    found["tags"] = sorted(found["tags"], key=lambda t: (t.get("group_label") is None, t.get("group_label") or ""))
    return found


def _show(request: Request, served: ServedWorkspace, seen: Visitor, customer_id: str, **extra: Any) -> HTMLResponse:
    card = _card(served, seen, customer_id)
    rows = _metric_rows(served, card)
    return page(
        request,
        "card.html",
        seen.lang,
        seen,
        extra.pop("status", 200),
        card=card,
        models=[r for r in rows if r["kind"] in ("churn", "clv")],
        metrics=[r for r in rows if r["kind"] not in ("churn", "clv")],
        tiers=tier_choices(served, seen.lang),
        channels=CHANNELS,
        outcomes=OUTCOMES,
        default_expiry=(dt.date.today() + dt.timedelta(days=90)).isoformat(),
        done=request.query_params.get("done"),
        here="customers",
        **extra,
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def card_page(request: Request, customer_id: str, seen: VisitorDep, served: ServiceDep) -> HTMLResponse:
    return _show(request, served, seen, customer_id)


def _back(customer_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/app/customers/{quote(customer_id, safe='')}?done={done}#{done}", status_code=303)


@router.post("/customers/{customer_id}/contacts", response_model=None)
def log_contact(
    request: Request, customer_id: str, seen: VisitorDep, served: ServiceDep, form: FormDep
) -> RedirectResponse | HTMLResponse:
    channel = str(form.get("channel") or "")
    outcome = str(form.get("outcome") or "") or None
    try:  # no control characters in what people type (tierkit.app.text)
        note = clean_text(str(form.get("note") or ""), lines=True) or None
    except ValueError:
        return _show(request, served, seen, customer_id, status=422, contact_error="card.contact_invalid")
    if channel not in CHANNELS or (outcome is not None and outcome not in OUTCOMES) or len(note or "") > 2000:
        return _show(request, served, seen, customer_id, status=422, contact_error="card.contact_invalid")
    uses.log_contact(served, customer_id, channel, note, seen.caller, outcome)
    return _back(customer_id, "contact")


@router.post("/customers/{customer_id}/override", response_model=None)
def override_tier(
    request: Request, customer_id: str, seen: VisitorDep, served: ServiceDep, form: FormDep
) -> RedirectResponse | HTMLResponse:
    if not seen.staff:
        raise PageRefused(f"role:{seen.role}")
    tier = str(form.get("tier") or "")
    try:
        reason = clean_text(str(form.get("reason") or ""), lines=True)
    except ValueError:  # NUL characters made a reason of "three characters"
        reason = ""
    try:
        day = dt.date.fromisoformat(str(form.get("expires") or ""))
        day += dt.timedelta(days=1)  # 9999-12-31 has no next day: a date error, not a 500
    except (ValueError, OverflowError):
        return _show(request, served, seen, customer_id, status=422, override_error="card.override_date")
    if len(reason) < 3 or len(reason) > 2000:
        return _show(request, served, seen, customer_id, status=422, override_error="card.override_reason")
    # the end of that day in the workspace's time zone offset (minutes east of UTC, as the policy says)
    offset = dt.timedelta(minutes=served.snapshot().policy.inputs.offset)
    expires = dt.datetime.combine(day, dt.time(), dt.timezone(offset))
    try:
        uses.override(served, customer_id, tier, reason, expires, seen.caller)
    except TierkitError as err:
        return _show(request, served, seen, customer_id, status=422, override_message=str(err))
    return _back(customer_id, "override")


@router.post("/customers/{customer_id}/entitlements/{code}/use", response_model=None)
def use_entitlement(
    request: Request, customer_id: str, code: str, seen: VisitorDep, served: ServiceDep, form: FormDep
) -> RedirectResponse | HTMLResponse:
    """At the counter: one use of an entitlement, refused with the reason in words (not granted,
    or its limit spent this period), as POST /customers/{id}/entitlements/{code}/use does."""
    try:
        counter.use(served, customer_id, code, seen.caller, lang=seen.lang)
    except ConflictError as err:
        return _show(request, served, seen, customer_id, status=409, entitlement_error=str(err))
    return _back(customer_id, "entitlement")
