"""event counters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 19:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "event_list_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("variant", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model_version", "variant", "position"),
    )
    op.create_table(
        "event_article_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "slug"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("event_article_counts")
    op.drop_table("event_list_counts")
