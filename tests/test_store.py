"""The store on both backends: migrations match the tables, timestamps round-trip as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from monogram.store import Store, metadata, migrate
from monogram.store.tables import api_keys


def test_migrations_create_exactly_the_tables(database_url: str) -> None:
    store = Store(database_url)
    migrate(store)
    migrate(store)  # running again on start is a no-op
    with store.write() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert compare_metadata(context, metadata) == []
    store.dispose()


def test_timestamps_are_stored_and_read_as_utc(database_url: str) -> None:
    store = Store(database_url)
    migrate(store)
    oslo = datetime(2026, 6, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    with store.write() as conn:
        conn.execute(
            api_keys.insert().values(
                id="k", name="n", scope="read", key_hash="h", prefix="p", created_at=oslo
            )
        )
    with store.read() as conn:
        stored = conn.execute(select(api_keys.c.created_at)).scalar_one()
    assert stored == datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    store.dispose()
