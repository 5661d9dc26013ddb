"""How long migration 0013 (the event log partitioned by month) takes on an existing
PostgreSQL log: a database at migration 0012 is filled with N synthetic events through COPY,
then upgraded, and the time of the upgrade is printed.

    python bench/migrate_partitions.py [--events 1000000]

PostgreSQL comes from BENCH_DATABASE_URL (an empty database), else a throwaway local server.
"""

from __future__ import annotations

import argparse
import time
from contextlib import ExitStack
from datetime import UTC, datetime

from _common import machine, postgres_url
from alembic import command
from sqlalchemy import text

from monogram.store import Store, migrate
from monogram.store.engine import alembic_config


def fill(store: Store, count: int) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    step = (datetime.now(UTC) - start) / count
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(
            "COPY events (message_id, type, name, profile_id, ts, received_at, source, payload) "
            "FROM STDIN"
        ) as copy:
            for n in range(count):
                at = (start + step * n).isoformat()
                payload = '{"properties": {"product_id": "p' + str(n % 500) + '"}}'
                copy.write_row(
                    (
                        f"msg-{n}",
                        "track",
                        "Product Viewed",
                        f"prof_{n // 10}",
                        at,
                        at,
                        "bench",
                        payload,
                    )
                )
        raw.commit()
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with ExitStack() as stack:
        url = postgres_url(stack)
        assert url is not None
        store = Store(url)
        config = alembic_config()
        with store.write() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0012")
        started = time.perf_counter()
        fill(store, args.events)
        filled = time.perf_counter() - started
        with store.write() as conn:
            conn.execute(text("ANALYZE events"))
        started = time.perf_counter()
        migrate(store)
        seconds = time.perf_counter() - started
        with store.read() as conn:
            kept = conn.execute(text("SELECT count(*) FROM events")).scalar()
            ids = conn.execute(text("SELECT count(*) FROM event_ids")).scalar()
        store.dispose()
    print(f"machine: {machine()}")
    print(
        f"migration 0013 on a log of {args.events:,} events (filled in {filled:.0f} s): "
        f"{seconds:.1f} s ({seconds / args.events * 1e6:.1f} s per million); "
        f"{kept:,} events and {ids:,} messageIds after"
    )
    assert kept == ids == args.events


if __name__ == "__main__":
    main()
