"""/alerts: each owner's inbox of what published runs changed; /webhooks: where alerts are sent.

An agent's inbox holds the alerts of the customers they own (their user name is the owner's
name, as in the customers file); staff read everyone's or one owner's. Webhooks are the
admin's: the secret is in the answer of the POST that adds one, and never again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from tierkit.api.deps import ALL, ServiceDep, UserDep, allow
from tierkit.app import alerts, webhooks
from tierkit.errors import InputError, RequestError

router = APIRouter(tags=["alerts"])


class Alert(BaseModel):
    id: int
    event_id: str = Field(description="The same change is one event id: receivers de-duplicate by it")
    event: str
    customer_id: str
    owner: str | None
    old: str | None
    new: str | None
    run_id: str
    previous_run_id: str | None
    reasons: list[str]
    created_at: str
    read_at: str | None
    read_by: str | None


class Inbox(BaseModel):
    owner: str | None = Field(description="Whose alerts (an agent: always their own)")
    total: int
    unread: int
    by_event: dict[str, int]
    alerts: list[Alert]


class WebhookIn(BaseModel):
    url: str
    events: list[str] = Field(default=[], description="Default: every event")
    batch: int = 100
    timeout: float = 10.0
    retries: int = 5
    backoff: float = 2.0


@router.get("/alerts", response_model=Inbox, **allow(*ALL))
def list_alerts(
    user: UserDep,
    service: ServiceDep,
    owner: Annotated[str | None, Query(description="Staff: one owner's alerts")] = None,
    event: Annotated[
        str | None, Query(description="tier_up, tier_down, churn_risk, tag_added, key_customer_lost")
    ] = None,
    run: Annotated[str | None, Query(description="One run's: an id, 'current' or 'previous'")] = None,
    customer_id: str | None = None,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The inbox, newest first: each alert with the customer, owner, old and new values and reasons."""
    try:
        return alerts.inbox(
            service,
            user,
            owner=owner,
            event=event,
            run=run,
            customer_id=customer_id,
            unread=unread,
            limit=limit,
            offset=offset,
        )
    except InputError as err:
        raise RequestError(str(err)) from err


@router.post("/alerts/{alert_id}/read", response_model=Alert, **allow(*ALL))
def read_alert(
    alert_id: Annotated[int, Path(ge=1, le=2**62, description="The alert's id")], user: UserDep, service: ServiceDep
) -> dict[str, Any]:
    """Mark an alert read (an agent: only their own; another's is 404)."""
    return alerts.mark_read(service, user, alert_id)


@router.get("/webhooks", **allow("admin"))
def list_webhooks(service: ServiceDep) -> list[dict[str, Any]]:
    """The webhooks (never their secrets), with their deliveries by state."""
    return webhooks.listed(service.workspace.root)


@router.post("/webhooks", status_code=201, **allow("admin"))
def add_webhook(body: WebhookIn, user: UserDep, service: ServiceDep) -> dict[str, Any]:
    """Add a webhook; the answer holds its signing `secret`, shown this once. Audited."""
    options = {"batch": body.batch, "timeout": body.timeout, "retries": body.retries, "backoff": body.backoff}
    try:
        return webhooks.add(service.workspace.root, body.url, body.events, user.name, **options)
    except InputError as err:
        raise RequestError(str(err)) from err


@router.delete("/webhooks/{hook_id}", **allow("admin"))
def remove_webhook(hook_id: str, user: UserDep, service: ServiceDep) -> dict[str, Any]:
    """Stop sending to a webhook (its deliveries and log stay). Audited."""
    return webhooks.remove(service.workspace.root, hook_id, user.name)
