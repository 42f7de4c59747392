"""recordings.source_extra; one delivery per notification and channel; delivery send time

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leap_core.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("source_extra", JSON, nullable=False, server_default=sa.text("'{}'")))
    with op.batch_alter_table("notification_deliveries") as batch:
        batch.add_column(sa.Column("sent_at", leap_core.db.types.UTCDateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(
            "uq_notification_deliveries_notification_id_channel", ["notification_id", "channel"]
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_deliveries") as batch:
        batch.drop_constraint("uq_notification_deliveries_notification_id_channel", type_="unique")
        batch.drop_column("sent_at")
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("source_extra")
