"""Response and request bodies, one model per role where what they may see differs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from tierkit.app.text import clean_text


def _utc(value: Any) -> Any:
    """SQLite keeps no time zone: every time the store writes is UTC, so say so."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


Instant = Annotated[dt.datetime, BeforeValidator(_utc)]


def _line(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def _lines(value: Any) -> Any:
    return clean_text(value, lines=True) if isinstance(value, str) else value


# free text a person types: stripped before its length is counted, control characters refused
# (tierkit.app.text); Lines may hold tabs and line breaks
Line = Annotated[str, BeforeValidator(_line)]
Lines = Annotated[str, BeforeValidator(_lines)]


class Person(BaseModel):
    """Personal data in clear: admins and analysts."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None


class MaskedPerson(BaseModel):
    """Personal data masked (138****5678, 张*): agents."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None


class ManualTagInfo(BaseModel):
    by: str
    reason: str
    expires: Instant | None = None


class Tag(BaseModel):
    name: str = Field(description="The tag's key, for programs")
    label: str = Field(description="What the front line calls it, in the card's language")
    action: str | None = Field(None, description="What to do, in the card's language")
    group: str | None = Field(None, description="Its identification class (identity, channel, complaint ...)")
    group_label: str | None = None
    manual: ManualTagInfo | None = Field(None, description="Given by a person (who, why, until when), or None")


class ComplaintInfo(BaseModel):
    id: int | None = Field(description="The store's id (None for one from the imported interactions)")
    at: str
    topic: str | None
    channel: str | None = None
    status: str | None = Field(description="open or resolved (None when the file does not say)")
    resolution: str | None = None
    resolved_at: str | None = None
    source: str = Field(description="store (taken through tierkit) or imported")


class ContactInfo(BaseModel):
    at: Instant
    by: str
    channel: str
    note: str | None = None
    outcome: str | None = None


class TierMoment(BaseModel):
    run_id: str
    as_of: str
    tier: str | None = Field(description="None: not in that run (not yet a customer, or no longer in the data)")
    tier_label: str | None
    current: bool


class Entitlement(BaseModel):
    name: str
    label: str


class ServiceCard(BaseModel):
    """The service of the tier in effect, in the card's language."""

    entitlements: list[Entitlement]
    contacts_per_month: list[int] | None = None
    contacts_text: str | None = None  # the cadence in words ([0, 0] -> 不定期联系)
    response_time: str | None = None
    response_time_text: str | None = None
    actions: list[str]


class Grantor(BaseModel):
    kind: str = Field(description="tier or tag")
    name: str
    label: str


class EntitlementItem(BaseModel):
    """One entitlement in effect for a customer, with what is left of its limit."""

    code: str = Field(description="The entitlement's key in the policy")
    label: str = Field(description="What the front line calls it, in the answer's language")
    limit: int | None = Field(description="Uses allowed per period; null when unlimited")
    period: str | None = Field(description="year or month (calendar, in the policy's time zone); null when unlimited")
    used: int | None = Field(description="Uses recorded in the current period; null when unlimited")
    remaining: int | None = Field(description="Uses left in the current period; null when unlimited")
    renews_on: str | None = Field(description="The first day of the next period (the count starts again)")
    granted_by: list[Grantor] = Field(description="The tier in effect and the tags that grant it")


class OverrideInfo(BaseModel):
    tier: str
    reason: str
    expires: Instant
    by: str
    at: Instant


class CardBase(BaseModel):
    customer_id: str
    run_id: str
    as_of: str
    lang: str = Field(description="The language of every label and text on the card (zh, en)")
    tier: str = Field(description="The tier in effect: a person's override while it lasts, else the graded tier")
    tier_label: str
    manual: bool = Field(description="True while a person's override sets the tier")
    automatic_tier: str = Field(description="The tier the policy gave")
    automatic_tier_label: str
    override: OverrideInfo | None = None
    scores: dict[str, Any]
    tags: list[Tag]
    service: ServiceCard | None = Field(description="The tier in effect's entitlements, contact cadence, response time")
    last_contacted: Instant | None = None
    metrics: dict[str, Any]
    alerts: list[str] = Field([], description="What the agent must see first (提示投诉专业户, open complaints)")
    complaints: list[ComplaintInfo] = []
    contacts: list[ContactInfo] = []
    tier_history: list[TierMoment] = []
    tier_history_pending: int = Field(
        0, description="Recent runs left out of tier_history for now: their lookups are being read (a new grading)"
    )
    entitlements: list[EntitlementItem] = Field(
        [], description="The tier in effect's and the tags' entitlements, with what is left of each limit"
    )
    looked_up: dict[str, str] | None = Field(
        None, description="The id asked for, when it led to a linked person's card"
    )
    score_labels: dict[str, str] = Field({}, description="Each score's class by its label in the card's language")
    why: list[str] = Field([], description="The reasons as sentences in the card's language")
    stability: dict[str, Any] | None = Field(
        None,
        description="Stable tiers (policy stability:): the tier the rules gave, whether the tier is kept and "
        "until when; null when the policy has none",
    )
    model_notes: list[str] = Field(
        [], description="Whether a model's figures (churn risk) come from the model or a baseline"
    )
    reasons: dict[str, Any] = Field(description="The rules and values that decided each label (PIPL 24, GDPR 22)")


class StaffCard(CardBase):
    person: Person | None = None


class AgentCard(CardBase):
    person: MaskedPerson | None = None


class ListItem(BaseModel):
    customer_id: str
    tier: str
    tier_label: str
    manual: bool
    tags: list[str]
    scores: dict[str, Any]


class CustomerPage(BaseModel):
    items: list[ListItem]
    total: int
    limit: int
    offset: int
    run_id: str


class OverrideIn(BaseModel):
    tier: Line = Field(min_length=1, max_length=100)
    reason: Lines = Field(min_length=3, max_length=2000)
    expires: Instant


class ContactIn(BaseModel):
    channel: Line = Field(min_length=1, max_length=40)
    note: Lines | None = Field(default=None, max_length=2000)
    outcome: Line | None = Field(default=None, max_length=40, description="reached, no_answer, callback, sold ...")


class TagIn(BaseModel):
    tag: Line = Field(min_length=1, max_length=100)
    reason: Lines = Field(min_length=3, max_length=2000)
    expires: Instant | None = None


class TagOut(BaseModel):
    customer_id: str
    tag: str
    expires: Instant | None
    by: str


class ComplaintIn(BaseModel):
    topic: Line = Field(min_length=1, max_length=200)
    channel: Line | None = Field(default=None, max_length=40)
    detail: Lines | None = Field(default=None, max_length=4000)


class ResolutionIn(BaseModel):
    resolution: Lines = Field(min_length=2, max_length=4000)


class ComplaintOut(BaseModel):
    id: int
    customer_id: str
    at: Instant
    topic: str
    channel: str | None
    detail: str | None
    status: str
    resolution: str | None
    resolved_at: Instant | None
    created_by: str


class HistoryPage(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class ContactOut(BaseModel):
    customer_id: str
    at: Instant
    by: str
    channel: str


class RunInfo(BaseModel):
    run_id: str
    created_at: Instant
    as_of: str
    policy: str
    policy_hash: str
    customers: int
    published_at: Instant | None = None
    current: bool


class RunRequest(BaseModel):
    as_of: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    publish: bool | None = Field(
        default=None, description="Default: publish, unless the current run is as of a later date"
    )


class JobInfo(BaseModel):
    job_id: str
    state: str
    step: str | None = None
    run_id: str | None = None
    error: str | None = None
    started_by: str
    started_at: Instant
    finished_at: Instant | None = None


class EntitlementUseIn(BaseModel):
    note: Lines | None = Field(default=None, max_length=2000, description="What was done (kept and audited)")


class EntitlementUseInfo(BaseModel):
    id: int
    at: Instant
    by: str
    run_id: str | None
    tier: str | None = Field(description="The tier in effect when it was used")
    note: str | None = None


class EntitlementUseOut(BaseModel):
    customer_id: str
    use: EntitlementUseInfo
    entitlement: EntitlementItem = Field(description="The entitlement after this use")
