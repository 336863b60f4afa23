"""The front line: tags people give, complaints taken at the counter, and a contact's outcome.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:  # batch: SQLite cannot ALTER in place
        batch.add_column(sa.Column("outcome", sa.String(40)))
    op.create_table(
        "manual_tags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True)),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.String(100)),
        sa.Column("removed_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_manual_tags_customer", "manual_tags", ["customer_id", "created_at"])
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(40)),
        sa.Column("detail", sa.Text),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resolution", sa.Text),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("created_by", sa.String(100), nullable=False),
    )
    op.create_index("ix_complaints_customer", "complaints", ["customer_id", "at"])


def downgrade() -> None:
    op.drop_table("complaints")
    op.drop_table("manual_tags")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("outcome")
