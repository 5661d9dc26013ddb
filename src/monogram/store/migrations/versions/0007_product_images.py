"""product images and creatives

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: no table rewrite, safe on a live database.
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("image", sa.String(length=2000), nullable=True))
    op.create_table(
        "creatives",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_creatives")),
    )
    op.create_table(
        "creative_renders",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("rendition", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_creative_renders")),
    )
    op.create_index(op.f("ix_creative_renders_name"), "creative_renders", ["name"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_creative_renders_name"), table_name="creative_renders")
    op.drop_table("creative_renders")
    op.drop_table("creatives")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("image")
