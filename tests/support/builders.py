"""Recordings made through the core's own registration path, for tests that need many of them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from leap_core import recordings
from leap_core.api import UserAPI
from leap_core.db.models import Recording, Source, Template, User
from leap_core.sources.base import SourceFile
from leap_core.states import RecordingStatus
from tests.conftest import TEST_ACTOR


def add_inbox(api: UserAPI, tmp_path: Path, *, process_on_arrival: bool = True) -> Path:
    inbox = tmp_path / f"inbox-{api.user.slug}"
    api.add_local_source("inbox", inbox)
    api.add_template("inbox", targets=["local"], process_on_arrival=process_on_arrival,
                     trim={"blank_min_speech_s": 3.0, "min_duration_s": 2.0})
    return inbox


def register_many(api: UserAPI, count: int, *, complete: bool = True) -> list[str]:
    """`count` recordings on the user's first source, registered in one transaction."""
    with api.leap.db.session() as session:
        user = session.get(User, api.user_id)
        source = session.query(Source).filter_by(user_id=api.user_id).first()
        template = session.query(Template).filter_by(user_id=api.user_id).first()
        assert user is not None and source is not None
        made = [
            recordings.register(
                session, TEST_ACTOR, user, source, template,
                SourceFile(file_id=f"file-{uuid.uuid4().hex}.mp4", name=f"Lecture {i}.mp4", size=1000,
                           recorded_at=datetime(2026, 1, 5, tzinfo=UTC), complete=complete),
            )
            for i in range(count)
        ]
        ids = [r.id for r in made if r is not None]
        assert len(ids) == count  # fresh file ids: none can be registered already
        return ids


def force_status(api: UserAPI, ids: list[str], status: RecordingStatus, stage: str | None = None) -> None:
    """Put recordings in a state directly (test set-up only; production code always goes through the table)."""
    with api.leap.db.session() as session:
        for recording in session.query(Recording).filter(Recording.id.in_(ids)):
            recording.status = status
            recording.failed = status is RecordingStatus.FAILED
            recording.failed_at_stage = stage
            recording.error_message = "boom" if status is RecordingStatus.FAILED else None
