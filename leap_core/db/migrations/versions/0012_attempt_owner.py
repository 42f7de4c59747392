"""attempt ownership: recordings.attempt_owner, and an index on status for the reconciler

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 12:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("attempt_owner", sa.String(length=64), nullable=True))
        batch.create_index("ix_recordings_status_updated_at", ["status", "updated_at"])


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_index("ix_recordings_status_updated_at")
        batch.drop_column("attempt_owner")
