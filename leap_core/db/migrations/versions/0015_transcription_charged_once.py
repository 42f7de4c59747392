"""usage: recordings.transcription_s and transcription_period (transcription charged once per recording)

Existing transcribed recordings are given the charge they should have had: their trimmed duration (the
last completed trim's `output_duration`, else `duration_s`), in the month of their first completed
transcription. The monthly counters themselves are not rewritten here; `leap admin usage verify --fix`
compares them with these values and corrects them, with an audit record.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:45:00
"""
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leap_core.db.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
recordings = sa.table("recordings", sa.column("id", sa.String), sa.column("duration_s", sa.Float),
                      sa.column("transcription_s", sa.Float), sa.column("transcription_period", sa.String))
stages = sa.table("processing_stages", sa.column("id", sa.Integer), sa.column("recording_id", sa.String),
                  sa.column("stage", sa.String), sa.column("status", sa.String),
                  sa.column("completed_at", leap_core.db.types.UTCDateTime(timezone=True)), sa.column("metadata", JSON))


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("transcription_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("transcription_period", sa.String(length=6), nullable=True))
    _backfill(op.get_bind())


def _backfill(bind: sa.Connection) -> None:
    first_transcribed: dict[str, Any] = {}
    for recording_id, completed_at in bind.execute(
        sa.select(stages.c.recording_id, stages.c.completed_at)
        .where(stages.c.stage == "transcribe", stages.c.status == "completed")
        .order_by(stages.c.id)
    ):
        first_transcribed.setdefault(recording_id, completed_at)
    if not first_transcribed:
        return
    trimmed: dict[str, float] = {}
    for recording_id, details in bind.execute(
        sa.select(stages.c.recording_id, stages.c["metadata"])
        .where(stages.c.stage == "trim", stages.c.status == "completed").order_by(stages.c.id)
    ):
        value = (details or {}).get("output_duration") if isinstance(details, dict) else None
        if isinstance(value, int | float) and value > 0:
            trimmed[recording_id] = float(value)
    durations = dict(bind.execute(sa.select(recordings.c.id, recordings.c.duration_s)
                                  .where(recordings.c.id.in_(list(first_transcribed)))).tuples().all())
    for recording_id, completed_at in first_transcribed.items():
        seconds = trimmed.get(recording_id, durations.get(recording_id))
        if not seconds or completed_at is None:
            continue
        period = completed_at.strftime("%Y%m")
        bind.execute(sa.update(recordings).where(recordings.c.id == recording_id)
                     .values(transcription_s=round(float(seconds), 3), transcription_period=period))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("transcription_period")
        batch.drop_column("transcription_s")
