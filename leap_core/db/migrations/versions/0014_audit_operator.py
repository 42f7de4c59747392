"""audit_logs.operator: who stood behind a call that acted as another identity (`as_user`)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_logs") as batch:
        batch.add_column(sa.Column("operator", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_logs") as batch:
        batch.drop_column("operator")
