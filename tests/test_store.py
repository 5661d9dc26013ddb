"""The store on both backends: migrations match the tables, timestamps round-trip as UTC."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from select import select as ready_to_read

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from monogram.store import Store, engine, metadata, migrate
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


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
print("releasing", flush=True)
fcntl.flock(fd, fcntl.LOCK_UN)
time.sleep(60)
"""


@contextmanager
def _holding(lock: Path, seconds: float) -> Iterator[Callable[[], bool]]:
    """Another process holding the writer lock for ``seconds``, then letting go (killed when
    the block ends); yields a function telling whether it has said it lets go."""
    command = [sys.executable, "-c", HOLD_LOCK, str(lock), str(seconds)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        out = holder.stdout

        def released() -> bool:
            said = ready_to_read([out], [], [], 0)[0]
            return bool(said) and out.readline().strip() == "releasing"

        try:
            yield released
        finally:
            holder.kill()


def test_a_sqlite_writer_waits_for_another_process_then_gives_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite writers of several processes take turns on a file lock beside the database: a
    writer waits while another process writes, and gives up with the error the API turns into
    a 503 when that process holds it too long (stopped, say), instead of waiting for ever."""
    database = tmp_path / "store.db"
    store = Store(f"sqlite:///{database}")
    migrate(store)
    lock = Path(f"{database}-writer.lock")
    assert lock.exists() and lock.stat().st_mode & 0o777 == 0o600
    key = {"id": "k", "name": "n", "scope": "read", "key_hash": "h", "prefix": "p"}
    with _holding(lock, 0.5) as released, store.write() as conn:  # waits, then writes
        assert released()  # the other process had let go before this write could start
        conn.execute(api_keys.insert().values(**key, created_at=datetime.now(UTC)))
    monkeypatch.setattr(engine, "WRITER_WAIT_S", 0.2)
    with _holding(lock, 5), pytest.raises(OperationalError, match="writer lock"), store.write():
        pass
    with store.read() as conn:
        assert conn.execute(select(api_keys.c.id)).scalars().all() == ["k"]
    store.dispose()
