"""templates.review and recordings.review_reason/review_held_at: the review hold before publishing (ADR 0042)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 22:10:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leap_core.db.types

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("review", JSON, nullable=False, server_default=sa.text("'{}'")))
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("review_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("review_held_at", leap_core.db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("review_held_at")
        batch.drop_column("review_reason")
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("review")
