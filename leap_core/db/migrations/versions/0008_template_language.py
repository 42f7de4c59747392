"""templates.language: the spoken language a template's recordings are transcribed in (a code or auto)

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-03 10:12:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("language", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("language")
