"""Idempotency keys of overrides and contacts: a client's retry of a POST whose answer was lost
(the database restarted, the network dropped it) finds the first write instead of adding a second.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table, author in (("overrides", "created_by"), ("contacts", "by")):
        with op.batch_alter_table(table) as batch:  # batch: SQLite cannot ALTER in place
            batch.add_column(sa.Column("request_key", sa.String(200)))
        # one key per author; rows without a key (NULL) never collide
        op.create_index(f"ux_{table}_request_key", table, [author, "request_key"], unique=True)


def downgrade() -> None:
    for table in ("overrides", "contacts"):
        op.drop_index(f"ux_{table}_request_key", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("request_key")
