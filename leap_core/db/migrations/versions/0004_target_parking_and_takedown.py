"""output_targets.parked_attempts (automatic re-tries of a parked target) and takedown_error

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-03 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("output_targets") as batch:
        batch.add_column(sa.Column("parked_attempts", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("takedown_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("output_targets") as batch:
        batch.drop_column("takedown_error")
        batch.drop_column("parked_attempts")
