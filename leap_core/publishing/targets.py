"""Runs one output target of one recording through its own state machine.

Targets are independent: each moves NOT_UPLOADED/FAILED → UPLOADING → UPLOADED or FAILED on its own,
the recording is UPLOADED once every target of its template is, and a target that already holds a
platform video id is never uploaded again, whatever re-runs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core import audit, recordings
from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.db.models import OutputTarget, ProcessingStage, Recording
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.errors import InvalidTransitionError, LeapError
from leap_core.pipeline.runner import StageInput, load, snapshot
from leap_core.stages import upload_stage
from leap_core.states import RecordingStatus, TargetStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    video_id: str
    url: str | None
    metadata: dict[str, Any]


@dataclass(frozen=True)
class TargetOutcome:
    status: Literal["uploaded", "reused", "not_requested", "skipped"]
    platform: str
    video_id: str | None
    url: str | None
    metadata: dict[str, Any]
    elapsed_s: float


Publish = Callable[[StageInput, OutputTarget], Published]


def _finish_recording_if_complete(session: Session, recording: Recording) -> None:
    statuses = session.scalars(
        select(OutputTarget.status).where(OutputTarget.recording_id == recording.id)
    ).all()
    if recording.status is RecordingStatus.UPLOADING and all(s is TargetStatus.UPLOADED for s in statuses):
        recordings.transition(session, recording, RecordingStatus.UPLOADED)


class TargetRunner:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def run(self, recording_id: str, platform: str, publish: Publish, run_id: str | None = None) -> TargetOutcome:
        actor = Actor("pipeline", origin="run", run_id=run_id)
        stage = upload_stage(platform)
        started = time.monotonic()
        with self.db.session() as session:
            recording = load(session, recording_id)
            target = session.scalar(select(OutputTarget).where(
                OutputTarget.recording_id == recording_id, OutputTarget.platform == platform))
            if recording.status is RecordingStatus.SKIPPED or target is None:
                reason = "skipped" if target is not None else "not_requested"
                return TargetOutcome(reason, platform, None, None, {}, 0.0)  # type: ignore[arg-type]
            if target.status is TargetStatus.UPLOADED:
                _finish_recording_if_complete(session, recording)
                return TargetOutcome("reused", platform, target.video_id, target.url, {}, 0.0)
            if recording.status is RecordingStatus.TRANSCRIBED:
                recordings.transition(session, recording, RecordingStatus.UPLOADING)
            elif recording.status is not RecordingStatus.UPLOADING:
                raise InvalidTransitionError(
                    f"recording {recording_id} is {recording.status}; publishing needs it TRANSCRIBED")
            recordings.transition_target(session, target, TargetStatus.UPLOADING)
            target.attempts += 1
            row = ProcessingStage(recording_id=recording_id, stage=stage.name, status="running", run_id=run_id)
            session.add(row)
            session.flush()
            row_id = row.id
            payload = snapshot(session, recording, self.settings)
            session.expunge(target)
        try:
            published = publish(payload, target)
        except Exception as exc:
            message = str(exc) if isinstance(exc, LeapError) else f"unexpected {type(exc).__name__}: {exc}"
            self._fail(recording_id, platform, row_id, message, actor)
            raise
        elapsed = time.monotonic() - started
        with self.db.session() as session:
            recording = load(session, recording_id)
            target = session.scalar(select(OutputTarget).where(
                OutputTarget.recording_id == recording_id, OutputTarget.platform == platform))
            assert target is not None
            recordings.transition_target(session, target, TargetStatus.UPLOADED)
            target.video_id, target.url, target.retry_after = published.video_id, published.url, None
            stage_row = session.get(ProcessingStage, row_id)
            assert stage_row is not None
            stage_row.status, stage_row.completed_at = "completed", utcnow()
            stage_row.details = {**published.metadata, "video_id": published.video_id, "url": published.url,
                                 "elapsed_s": round(elapsed, 3)}
            audit.record(session, actor, "target.upload", "output_target", target.id, user_id=recording.user_id,
                         details={"platform": platform, "video_id": published.video_id, "url": published.url})
            _finish_recording_if_complete(session, recording)
        return TargetOutcome("uploaded", platform, published.video_id, published.url, published.metadata, elapsed)

    def _fail(self, recording_id: str, platform: str, row_id: int, message: str, actor: Actor) -> None:
        stage_name = upload_stage(platform).name
        with self.db.session() as session:
            recording = load(session, recording_id)
            target = session.scalar(select(OutputTarget).where(
                OutputTarget.recording_id == recording_id, OutputTarget.platform == platform))
            assert target is not None
            recordings.transition_target(session, target, TargetStatus.FAILED)
            target.error_message = message
            stage_row = session.get(ProcessingStage, row_id)
            assert stage_row is not None
            stage_row.status, stage_row.completed_at, stage_row.error = "failed", utcnow(), message
            if recording.status is not RecordingStatus.FAILED:
                recordings.fail(session, recording, stage_name, message)
            audit.record(session, actor, "target.fail", "output_target", target.id, user_id=recording.user_id,
                         details={"platform": platform, "error": message}, result="failure")
        log.warning("recording %s: %s failed: %s", recording_id, stage_name, message)
