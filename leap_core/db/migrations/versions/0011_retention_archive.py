"""retention: recordings.archived_at, templates.retention, recording_archives (kept outputs)

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-03 09:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leap_core.db.types

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("archived_at", leap_core.db.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("retention", JSON, nullable=False, server_default=sa.text("'{}'")))
    op.create_table(
        "recording_archives",
        sa.Column("recording_id", sa.String(length=26), nullable=False),
        sa.Column("transcript", JSON, nullable=True),
        sa.Column("topics", JSON, nullable=True),
        sa.Column("subtitles_srt", sa.Text(), nullable=True),
        sa.Column("subtitles_vtt", sa.Text(), nullable=True),
        sa.Column("freed_bytes", sa.BigInteger(), nullable=False),
        sa.Column("archived_at", leap_core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("recording_id"),
    )


def downgrade() -> None:
    op.drop_table("recording_archives")
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("retention")
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("archived_at")
