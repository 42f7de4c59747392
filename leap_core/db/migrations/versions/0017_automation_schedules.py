"""automation schedules: automation_revision (what the code location reloads on), run start/finish records

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-03 12:40:00
"""
import sqlalchemy as sa
from alembic import op

import leap_core.db.types

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_revision",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", leap_core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_revision")),
    )
    with op.batch_alter_table("automation_runs") as batch:
        batch.add_column(sa.Column("finished_at", leap_core.db.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("dagster_run_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("automation_runs") as batch:
        batch.drop_column("dagster_run_id")
        batch.drop_column("finished_at")
    op.drop_table("automation_revision")
