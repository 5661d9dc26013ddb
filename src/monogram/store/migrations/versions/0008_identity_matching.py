"""probabilistic identity matching: models, scored pairs, runs

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "match_models",
        sa.Column("version", SEQ, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_match_models")),
    )
    op.create_table(
        "match_pairs",
        sa.Column("id", SEQ, autoincrement=True, nullable=False),
        sa.Column("left_id", sa.String(length=40), nullable=False),
        sa.Column("right_id", sa.String(length=40), nullable=False),
        sa.Column("left_key", sa.String(length=600), nullable=False),
        sa.Column("right_key", sa.String(length=600), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_pairs")),
        sa.UniqueConstraint("left_id", "right_id", name="uq_match_pairs_sides"),
    )
    op.create_index(op.f("ix_match_pairs_status"), "match_pairs", ["status"], unique=False)
    op.create_table(
        "match_runs",
        sa.Column("id", SEQ, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("suggested", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_runs")),
    )


def downgrade() -> None:
    op.drop_table("match_runs")
    op.drop_index(op.f("ix_match_pairs_status"), table_name="match_pairs")
    op.drop_table("match_pairs")
    op.drop_table("match_models")
