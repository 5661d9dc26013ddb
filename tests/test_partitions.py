"""The event log partitioned by month on PostgreSQL: events land in their month, a month
outside the ready ones lands in the default partition and gets a partition of its own at the
next start, deduplication holds across partitions, erasure reaches every partition, and an
existing log is migrated without losing or duplicating an event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import text

from monogram.cdp import privacy, unify
from monogram.core.clock import now
from monogram.core.settings import ProjectConfig
from monogram.store import Store, migrate, partitions
from monogram.store.engine import alembic_config
from tests.helpers import ev


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _where(store: Store) -> dict[str, str]:
    """Each stored event's partition, by messageId."""
    with store.read() as conn:
        rows = conn.execute(text("SELECT message_id, tableoid::regclass::text FROM events"))
        return {str(m): str(t) for m, t in rows}


def test_events_land_in_their_month_and_strays_get_a_partition(pg_url: str) -> None:
    store = Store(pg_url)
    migrate(store)
    config = ProjectConfig()
    this_month = partitions.month_start(0)
    far = partitions.month_start(20)  # beyond the months kept ready
    batch = [
        ev("track", _iso(now()), userId="u1", event="Product Viewed", messageId="now"),
        ev(
            "track", _iso(this_month + timedelta(days=40)), userId="u1", event="A", messageId="next"
        ),
        ev("track", _iso(far + timedelta(days=3)), userId="u1", event="B", messageId="far"),
        ev("track", "2019-05-01T10:00:00Z", userId="u1", event="C", messageId="old"),
    ]
    report = unify.ingest_batch(store, config, batch, source="test")
    assert report.accepted == 4 and not report.rejected
    where = _where(store)
    assert where["now"] == partitions.name_for(this_month)
    assert where["next"] == partitions.name_for(partitions.month_start(1))
    assert where["far"] == partitions.DEFAULT
    assert where["old"] == partitions.HISTORY
    # The next start gives the stray month its own partition and moves its rows there.
    migrate(store)
    assert _where(store)["far"] == partitions.name_for(far)
    with store.read() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {partitions.DEFAULT}")).scalar() == 0
    # A resent copy is a duplicate whatever partition the first one is in.
    again = unify.ingest_batch(store, config, batch, source="test")
    assert again.accepted == 0 and again.duplicates == 4
    # Erasure reaches every partition and the dedupe index.
    privacy.erase(store, "user_id:u1")
    with store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM event_ids")).scalar() == 0
    store.dispose()


def test_an_existing_log_is_migrated_whole(pg_url: str) -> None:
    store = Store(pg_url)
    config = alembic_config()
    with store.write() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0012")  # the log as it was: one table
    ahead = partitions.month_start(2) + timedelta(days=5)  # a clock running ahead
    with store.write() as conn:
        for index, at in enumerate([datetime(2024, 3, 1, tzinfo=UTC), now(), ahead]):
            conn.execute(
                text(
                    "INSERT INTO events (message_id, type, profile_id, ts, received_at, source, "
                    "payload) VALUES (:m, 'track', 'p1', :ts, :ts, 'test', '{}')"
                ),
                {"m": f"m{index}", "ts": at},
            )
    migrate(store)
    where = _where(store)
    assert set(where) == {"m0", "m1", "m2"}
    # History reaches past the newest event it held, so none of them had to move.
    assert set(where.values()) == {partitions.HISTORY}
    with store.read() as conn:
        ids = {r[0] for r in conn.execute(text("SELECT message_id FROM event_ids"))}
        bound = conn.execute(
            text("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = :n"),
            {"n": partitions.HISTORY},
        ).scalar()
    assert ids == {"m0", "m1", "m2"}
    assert partitions.month_start(3).date().isoformat() in str(bound)
    # New events after the history's end go to their own months.
    later = partitions.month_start(3) + timedelta(days=1)
    fresh = [ev("track", _iso(later), userId="u9", event="X", messageId="m3")]
    assert unify.ingest_batch(store, ProjectConfig(), fresh, source="test").accepted == 1
    assert _where(store)["m3"] == partitions.name_for(partitions.month_start(3))
    store.dispose()


@pytest.mark.parametrize("offset", [0, 1, 11, 12, -1])
def test_month_start(offset: int) -> None:
    at = datetime(2026, 12, 15, 8, 30, tzinfo=UTC)
    start = partitions.month_start(offset, at)
    assert start.day == 1 and start.hour == 0 and start.tzinfo == UTC
    assert (start.year * 12 + start.month) - (2026 * 12 + 12) == offset
