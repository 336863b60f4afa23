"""Uses of entitlements (免费补卡 twice a year ...), which their limits count.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entitlement_uses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(100), nullable=False),
        sa.Column("run_id", sa.String(40)),
        sa.Column("tier", sa.String(100)),
        sa.Column("note", sa.Text),
        sa.Column("slot", sa.String(40)),
    )
    op.create_index("ix_entitlement_uses_customer", "entitlement_uses", ["customer_id", "code", "at"])
    op.create_index("ux_entitlement_uses_slot", "entitlement_uses", ["customer_id", "code", "slot"], unique=True)


def downgrade() -> None:
    op.drop_table("entitlement_uses")
