"""events partitioned by month on PostgreSQL; messageIds deduplicated through event_ids

PostgreSQL: the event log becomes a table partitioned by month of ``ts``. The existing table
is not copied: it is renamed ``events_history`` and attached as the partition of everything
before this month (a check constraint, validated first, spares PostgreSQL the scan), so the
migration's time is that of building two indexes on it and of copying its messageIds into
``event_ids`` (3.0 s for a million events on a 2-core machine: `bench/migrate_partitions.py`). Monthly partitions from
this month on, and a default one, are made by ``store.partitions.ensure``.

SQLite: ``event_ids`` is filled from the log and the log's unique constraint on message_id
dropped (one code path for deduplication on both stores).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_ids",
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_event_ids")),
    )
    op.execute("INSERT INTO event_ids (message_id) SELECT message_id FROM events")
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table("events") as batch:
            batch.drop_constraint("uq_events_message_id", type_="unique")
        return
    from monogram.store.partitions import month_start

    # History ends with this month, or after the newest event already stored (a timestamp
    # ahead of the clock must stay inside it for the check constraint to hold).
    latest = op.get_bind().execute(sa.text("SELECT max(ts) FROM events")).scalar()
    end = month_start(0) if latest is None else max(month_start(0), month_start(1, latest))
    boundary = end.isoformat()
    statements = [
        "ALTER TABLE events RENAME TO events_history",
        # A partition's primary key must be the parent's: (seq, ts).
        "ALTER TABLE events_history DROP CONSTRAINT pk_events",
        "ALTER TABLE events_history ADD CONSTRAINT pk_events_history PRIMARY KEY (seq, ts)",
        "ALTER TABLE events_history DROP CONSTRAINT uq_events_message_id",
        "ALTER INDEX ix_events_profile_ts RENAME TO ix_events_history_profile_ts",
        "ALTER INDEX ix_events_name_ts RENAME TO ix_events_history_name_ts",
        "ALTER SEQUENCE events_seq_seq OWNED BY NONE",
        """CREATE TABLE events (
            seq BIGINT NOT NULL DEFAULT nextval('events_seq_seq'),
            message_id VARCHAR(255) NOT NULL,
            type VARCHAR(16) NOT NULL,
            name VARCHAR(255),
            user_id VARCHAR(512),
            anonymous_id VARCHAR(512),
            profile_id VARCHAR(40) NOT NULL,
            ts TIMESTAMP WITH TIME ZONE NOT NULL,
            received_at TIMESTAMP WITH TIME ZONE NOT NULL,
            source VARCHAR(40) NOT NULL,
            payload TEXT NOT NULL,
            CONSTRAINT pk_events PRIMARY KEY (seq, ts)
        ) PARTITION BY RANGE (ts)""",
        "ALTER SEQUENCE events_seq_seq OWNED BY events.seq",
        "CREATE INDEX ix_events_profile_ts ON events (profile_id, ts)",
        "CREATE INDEX ix_events_name_ts ON events (name, ts, profile_id)",
        f"ALTER TABLE events_history ADD CONSTRAINT events_history_range "
        f"CHECK (ts < '{boundary}') NOT VALID",
        "ALTER TABLE events_history VALIDATE CONSTRAINT events_history_range",
        f"ALTER TABLE events ATTACH PARTITION events_history "
        f"FOR VALUES FROM (MINVALUE) TO ('{boundary}')",
    ]
    for statement in statements:
        op.execute(statement)
    from monogram.store.partitions import ensure

    ensure(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("the partitioned event log is not turned back into one table")
