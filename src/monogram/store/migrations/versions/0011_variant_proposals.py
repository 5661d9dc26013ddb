"""prompt variants proposed from winners

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "variant_proposals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("placement", sa.String(length=64), nullable=False),
        sa.Column("element", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=24), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("based_on", sa.String(length=24), nullable=True),
        sa.Column("how", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("check", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_variant_proposals")),
    )
    op.create_index(
        op.f("ix_variant_proposals_status"), "variant_proposals", ["status"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_variant_proposals_status"), table_name="variant_proposals")
    op.drop_table("variant_proposals")
