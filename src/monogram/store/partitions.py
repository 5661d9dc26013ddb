"""The event log's monthly partitions on PostgreSQL.

``events`` is partitioned by range of ``ts`` (migration 0013): ``events_history`` holds
everything before the month the migration ran, ``events_YYYY_MM`` one month each, and
``events_default`` whatever falls outside them (a timestamp months ahead, say). ``ensure``
keeps partitions ready for this month and the next ``AHEAD`` months, and gives every month
that has rows in the default partition a partition of its own; it runs with the migrations,
so every process start (and every CLI command) keeps the log in shape. On SQLite it does
nothing.

Queries need not know: PostgreSQL routes inserts to their month and prunes partitions a
time-bounded query (a segment's event window, a timeline) cannot touch. Old months can be
detached and archived (`ALTER TABLE events DETACH PARTITION events_2025_01`) once the
profiles built from them no longer need a rebuild from the log.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, text

from monogram.core.clock import now

AHEAD = 3  # months of empty partitions kept ready
HISTORY = "events_history"
DEFAULT = "events_default"


def month_start(offset: int, at: datetime | None = None) -> datetime:
    """The first instant (UTC) of the month ``offset`` months after ``at``'s (default: now)."""
    at = (at or now()).astimezone(UTC)
    index = at.year * 12 + (at.month - 1) + offset
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def name_for(start: datetime) -> str:
    return f"events_{start.year:04d}_{start.month:02d}"


def is_partition(name: str) -> bool:
    """Whether a table name is one of the log's partitions (not a table of the metadata)."""
    return name in (HISTORY, DEFAULT) or (
        name.startswith("events_") and name[7:11].isdigit() and name[12:14].isdigit()
    )


def ensure(conn: Connection, ahead: int = AHEAD) -> list[str]:
    """Make the missing monthly partitions (see the module docstring); the names made."""
    if conn.dialect.name != "postgresql" or not _partitioned(conn):
        return []
    made = []
    if not _exists(conn, DEFAULT):
        conn.execute(text(f"CREATE TABLE {DEFAULT} PARTITION OF events DEFAULT"))
        made.append(DEFAULT)
    floor = _history_end(conn)
    wanted = {month_start(k) for k in range(ahead + 1)}
    stray = conn.execute(
        text(f"SELECT DISTINCT date_trunc('month', ts AT TIME ZONE 'UTC') FROM {DEFAULT}")
    )
    wanted |= {row[0].replace(tzinfo=UTC) for row in stray}
    for start in sorted(w for w in wanted if floor is None or w >= floor):
        name = name_for(start)
        if _exists(conn, name):
            continue
        _carve(conn, name, start, month_start(1, start))
        made.append(name)
    return made


def _carve(conn: Connection, name: str, start: datetime, end: datetime) -> None:
    """A partition for [start, end): rows already in the default partition move into it first
    (PostgreSQL refuses to attach a range the default partition holds rows of)."""
    bounds = {"start": start, "end": end}
    conn.execute(text(f"CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE ts >= :start AND ts < :end "
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    )
    lower, upper = start.isoformat(), end.isoformat()
    attach = (
        f"ALTER TABLE events ATTACH PARTITION {name} FOR VALUES FROM ('{lower}') TO ('{upper}')"
    )
    conn.execute(text(attach))


def _partitioned(conn: Connection) -> bool:
    found = conn.execute(
        text(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = 'events' AND pg_table_is_visible(c.oid)"
        )
    ).first()
    return found is not None


def _exists(conn: Connection, name: str) -> bool:
    return conn.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar() is not None


def _history_end(conn: Connection) -> datetime | None:
    """Where ``events_history`` stops (no monthly partition may start before it)."""
    bound = conn.execute(
        text(
            "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c "
            "WHERE c.relname = :name AND c.relispartition AND pg_table_is_visible(c.oid)"
        ),
        {"name": HISTORY},
    ).scalar()
    if not bound or "TO ('" not in bound:
        return None
    upper = bound.split("TO ('", 1)[1].split("'", 1)[0]
    return datetime.fromisoformat(upper).astimezone(UTC)
