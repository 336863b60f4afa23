"""The operational store's tables: who may ask, which run is current, what people changed, who saw what.

Graded results stay in run folders (Parquet); the store keeps what must change transactionally
and be shared by every process: API users and their hashed keys, the run catalog and the
current pointer, manual overrides, the audit log and contact logs. SQLAlchemy Core tables, so
that one schema serves SQLite (embedded, default) and PostgreSQL (production).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 of the key, never the key
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(40), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("as_of", String(10), nullable=False),
    Column("policy", String(200), nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("customers", BigInteger, nullable=False),
    Column("published_at", DateTime(timezone=True)),
)

pointers = Table(  # one row per name; 'current' names the published run
    "pointers",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("run_id", String(40), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

overrides = Table(
    "overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(100), nullable=False),
    Column("tier", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("request_key", String(200)),  # the client's Idempotency-Key: a retried POST is done once (0006)
    Index("ix_overrides_customer", "customer_id", "created_at"),
    Index("ux_overrides_request_key", "created_by", "request_key", unique=True),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("action", String(40), nullable=False),  # view_card, override, export, ...
    Column("target", String(200)),
    Column("detail", Text),
    Index("ix_audit_at", "at"),
    Index("ix_audit_target", "target"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(100), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("by", String(100), nullable=False),
    Column("channel", String(40), nullable=False),
    Column("note", Text),
    Column("outcome", String(40)),  # reached, no_answer, callback, refused, sold ... (0002)
    Column("request_key", String(200)),  # the client's Idempotency-Key: a retried POST is done once (0006)
    Index("ix_contacts_customer", "customer_id", "at"),
    Index("ux_contacts_request_key", "by", "request_key", unique=True),
)

manual_tags = Table(  # a tag a person gives (集团关键人, 投诉专业户 blacklist ...), with a reason and expiry
    "manual_tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(100), nullable=False),
    Column("tag", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("expires", DateTime(timezone=True)),  # NULL: until removed
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("removed_by", String(100)),
    Column("removed_at", DateTime(timezone=True)),
    Index("ix_manual_tags_customer", "customer_id", "created_at"),
)

complaints = Table(  # complaints taken at the counter or on the phone; the next grading reads them
    "complaints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(100), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("channel", String(40)),
    Column("detail", Text),
    Column("status", String(20), nullable=False),  # open, resolved
    Column("resolution", Text),
    Column("resolved_at", DateTime(timezone=True)),
    Column("created_by", String(100), nullable=False),
    Index("ix_complaints_customer", "customer_id", "at"),
)

jobs = Table(  # grading started through the API, and how far it got
    "jobs",
    metadata,
    Column("job_id", String(40), primary_key=True),
    Column("state", String(20), nullable=False),  # queued, running, done, failed
    Column("step", Text),
    Column("started_by", String(100), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("run_id", String(40)),
    Column("error", Text),
)

web_sessions = Table(  # a signed-in browser of the web workbench (0003); the cookie holds the token, never stored
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the cookie's token
    Column("user_name", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("csrf", String(64), nullable=False),  # the token every changing form carries
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),  # the absolute end
    Column("ended_at", DateTime(timezone=True)),  # signed out
    Index("ix_web_sessions_user", "user_name"),
)

entitlement_uses = Table(  # an entitlement used at the counter (免费补卡 ...): what limits count (0004)
    "entitlement_uses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(100), nullable=False),
    Column("code", String(100), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("by", String(100), nullable=False),
    Column("run_id", String(40)),  # the published run that granted it
    Column("tier", String(100)),  # the tier in effect then
    Column("note", Text),
    # a limited use's place in its period ("2026#2": the second of 2026); unique, so that two
    # counters at once cannot both take the last one; NULL for an unlimited use
    Column("slot", String(40)),
    Index("ix_entitlement_uses_customer", "customer_id", "code", "at"),
    Index("ux_entitlement_uses_slot", "customer_id", "code", "slot", unique=True),
)

alerts = Table(  # what a published run changed for a customer (tier down, churn risk crossed ...) (0005)
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),  # the same change is one event, however often emitted
    Column("run_id", String(40), nullable=False),
    Column("previous_run_id", String(40)),
    Column("event", String(40), nullable=False),  # tier_up, tier_down, churn_risk, tag_added, key_customer_lost
    Column("customer_id", String(100), nullable=False),
    Column("owner", String(100)),
    Column("old", Text),
    Column("new", Text),
    Column("reasons", Text),  # JSON list of sentences
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    Column("read_by", String(100)),
    Index("ix_alerts_owner", "owner", "id"),
    Index("ix_alerts_run", "run_id"),
    Index("ix_alerts_customer", "customer_id"),
)

webhooks = Table(  # where alerts are POSTed, signed with the hook's secret (0005)
    "webhooks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # comma-separated event names
    Column("secret", String(100), nullable=False),  # kept: every delivery is signed with it
    Column("batch", Integer, nullable=False),  # events per POST; 1: one event object per POST
    Column("timeout", Float, nullable=False),  # seconds per POST
    Column("retries", Integer, nullable=False),  # attempts after the first before the dead-letter list
    Column("backoff", Float, nullable=False),  # seconds before the first retry, doubled after each
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
)

deliveries = Table(  # one alert to one webhook: pending, delivered or dead (the dead-letter list) (0005)
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", String(40), nullable=False),
    Column("alert_id", Integer, nullable=False),
    Column("state", String(20), nullable=False),  # pending, delivered, dead
    Column("attempts", Integer, nullable=False),
    Column("next_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
    Index("ux_deliveries_hook_alert", "webhook_id", "alert_id", unique=True),
    Index("ix_deliveries_due", "webhook_id", "state", "id"),  # the oldest pending of a hook, without a sort
)

delivery_log = Table(  # every POST to a webhook: when, how many events, what came back (0005)
    "delivery_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", String(40), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("events", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", Integer),  # the HTTP status; NULL when nothing came back (refused, timed out)
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_delivery_log_hook", "webhook_id", "at"),
)

locks = Table(  # a lock every process of a workspace respects (scheduled gradings: one at a time) (0005)
    "locks",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),  # host:pid:token
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),  # a crashed holder's lock lapses
)

schedule_runs = Table(  # each due time of the workspace's `schedule:` and what came of it (0005)
    "schedule_runs",
    metadata,
    Column("slot", String(40), primary_key=True),  # the due instant (UTC ISO): each runs once
    Column("cron", String(100), nullable=False),
    Column("state", String(20), nullable=False),  # running, done, failed
    Column("holder", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("run_id", String(40)),
    Column("error", Text),
)
