"""Alembic environment: runs on the connection Monogram hands over (see store.engine.migrate)."""

from __future__ import annotations

from alembic import context

from monogram.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through monogram.store.migrate(engine)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
