"""Migration 0015 gives every recording transcribed before it the one charge it should have had."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import select, text

from leap_core.api import UserAPI
from leap_core.db.models import Recording
from leap_core.db.session import Database, alembic_config
from tests.support.builders import add_inbox, register_many


def test_recordings_transcribed_before_0015_are_charged_their_trimmed_duration_in_their_month(
    database_url: str, alice: UserAPI, tmp_path: Path
) -> None:
    add_inbox(alice, tmp_path)
    trimmed, untrimmed, never = register_many(alice, 3)
    command.downgrade(alembic_config(database_url), "0014")
    done = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
    with alice.leap.db.engine.begin() as connection:
        connection.execute(text("UPDATE recordings SET duration_s = 199.27"))
        for rid, stage, details in ((trimmed, "trim", '{"output_duration": 180.5}'),
                                    (trimmed, "transcribe", "{}"), (trimmed, "transcribe", "{}"),
                                    (untrimmed, "transcribe", "{}")):
            connection.execute(text(
                "INSERT INTO processing_stages (recording_id, stage, status, started_at, completed_at, metadata) "
                "VALUES (:rid, :stage, 'completed', :at, :at, :details)"),
                {"rid": rid, "stage": stage, "at": done, "details": details})

    Database(database_url).upgrade()

    with alice.leap.db.session() as session:
        charges = {r.id: (r.transcription_s, r.transcription_period) for r in session.scalars(select(Recording))}
    assert charges == {trimmed: (180.5, "202610"), untrimmed: (199.27, "202610"), never: (None, None)}
    alice.leap.db.dispose()
