"""Alerts and their webhooks (deliveries, the dead-letter list, the log); the schedule's runs and lock.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("previous_run_id", sa.String(40)),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(100)),
        sa.Column("old", sa.Text),
        sa.Column("new", sa.Text),
        sa.Column("reasons", sa.Text),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("read_at", WHEN),
        sa.Column("read_by", sa.String(100)),
    )
    op.create_index("ix_alerts_owner", "alerts", ["owner", "id"])
    op.create_index("ix_alerts_run", "alerts", ["run_id"])
    op.create_index("ix_alerts_customer", "alerts", ["customer_id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("batch", sa.Integer, nullable=False),
        sa.Column("timeout", sa.Float, nullable=False),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("backoff", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("disabled_at", WHEN),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.String(40), nullable=False),
        sa.Column("alert_id", sa.Integer, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", WHEN, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", WHEN),
    )
    op.create_index("ux_deliveries_hook_alert", "deliveries", ["webhook_id", "alert_id"], unique=True)
    op.create_index("ix_deliveries_due", "deliveries", ["webhook_id", "state", "id"])
    op.create_table(
        "delivery_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.String(40), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )
    op.create_index("ix_delivery_log_hook", "delivery_log", ["webhook_id", "at"])
    op.create_table(
        "locks",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("slot", sa.String(40), primary_key=True),
        sa.Column("cron", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN),
        sa.Column("run_id", sa.String(40)),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    for table in ("schedule_runs", "locks", "delivery_log", "deliveries", "webhooks", "alerts"):
        op.drop_table(table)
