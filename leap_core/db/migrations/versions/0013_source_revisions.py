"""intake: recordings.source_revision / source_fingerprint / source_stable_since; one recording per revision

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:40:00
"""
import sqlalchemy as sa
from alembic import op

import leap_core.db.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("source_revision", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("source_fingerprint", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("source_stable_since", leap_core.db.types.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.drop_constraint("uq_recordings_source_id_source_file_id", type_="unique")
        batch.create_unique_constraint("uq_recordings_source_id_source_file_id_source_revision",
                                       ["source_id", "source_file_id", "source_revision"])


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_constraint("uq_recordings_source_id_source_file_id_source_revision", type_="unique")
        batch.create_unique_constraint("uq_recordings_source_id_source_file_id", ["source_id", "source_file_id"])
        batch.drop_column("source_stable_since")
        batch.drop_column("source_fingerprint")
        batch.drop_column("source_revision")
