"""exemplars learned from reviewed edits and rewarded copy

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "exemplar_sets",
        sa.Column("version", SEQ, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_exemplar_sets")),
    )
    op.create_table(
        "learned_exemplars",
        sa.Column("id", SEQ, autoincrement=True, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("placement", sa.String(length=64), nullable=False),
        sa.Column("element", sa.String(length=64), nullable=False),
        sa.Column("segment", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learned_exemplars")),
    )
    op.create_index(
        op.f("ix_learned_exemplars_version"), "learned_exemplars", ["version"], unique=False
    )
    op.create_index(
        op.f("ix_learned_exemplars_profile_id"), "learned_exemplars", ["profile_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_learned_exemplars_profile_id"), table_name="learned_exemplars")
    op.drop_index(op.f("ix_learned_exemplars_version"), table_name="learned_exemplars")
    op.drop_table("learned_exemplars")
    op.drop_table("exemplar_sets")
