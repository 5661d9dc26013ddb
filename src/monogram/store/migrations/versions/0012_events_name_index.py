"""events by name and time, for segments with event rules over the whole base

On a large PostgreSQL event log, build the index without blocking writes before upgrading (the
migration then finds it and does nothing):

    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_events_name_ts ON events (name, ts, profile_id);

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_name_ts", "events", ["name", "ts", "profile_id"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_events_name_ts", table_name="events")
