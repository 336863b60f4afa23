"""Alembic environment: the connection comes from tierkit (`config.attributes['connection']`)."""

from __future__ import annotations

from alembic import context

from tierkit.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
