"""Runs one stage of one recording: state in, work, state out, stage history, audit on failure.

The work itself gets a detached snapshot and holds no database transaction while it runs (a
transcription can take minutes); the entry and exit are two short transactions, and the version
column makes a second worker on the same recording lose at either end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core import audit, recordings
from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.db.models import ProcessingStage, Recording, Template, User
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.errors import InvalidTransitionError, LeapError, NotFoundError
from leap_core.stages import Stage
from leap_core.states import RecordingStatus
from leap_core.storage import RecordingFiles, recording_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageInput:
    """Everything a stage needs, read in the entry transaction."""

    recording_id: str
    user_id: str
    user_slug: str
    title: str
    source_id: str | None
    source_file_id: str
    source_name: str
    source_size: int | None
    recorded_at: Any
    files: RecordingFiles
    template: dict[str, Any]
    settings: Settings


@dataclass
class StageOutput:
    metadata: dict[str, Any] = field(default_factory=dict)
    skip_reason: str | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class StageOutcome:
    status: Literal["completed", "skipped"]
    recording_id: str
    stage: str
    metadata: dict[str, Any]
    elapsed_s: float


Work = Callable[[StageInput], StageOutput]


def template_snapshot(template: Template | None) -> dict[str, Any]:
    if template is None:
        return {"name": None, "targets": [], "trim": {}, "presets": {}, "exclude_blank": True}
    return {
        "id": template.id, "name": template.name, "targets": list(template.targets),
        "trim": dict(template.trim), "presets": dict(template.presets), "exclude_blank": template.exclude_blank,
    }


def snapshot(session: Session, recording: Recording, settings: Settings) -> StageInput:
    user = session.get(User, recording.user_id)
    assert user is not None
    template = session.get(Template, recording.template_id) if recording.template_id else None
    return StageInput(
        recording_id=recording.id, user_id=recording.user_id, user_slug=user.slug, title=recording.title,
        source_id=recording.source_id, source_file_id=recording.source_file_id,
        source_name=recording.source_name, source_size=recording.source_size,
        recorded_at=recording.recorded_at,
        files=recording_files(settings.resolved_storage_dir, user.slug, recording.id, recording.extension),
        template=template_snapshot(template), settings=settings,
    )


def load(session: Session, recording_id: str) -> Recording:
    recording = session.scalar(select(Recording).where(Recording.id == recording_id))
    if recording is None or recording.deleted_at is not None:
        raise NotFoundError(f"recording not found: {recording_id}")
    return recording


class StageRunner:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def run(self, recording_id: str, stage: Stage, work: Work, run_id: str | None = None) -> StageOutcome:
        actor = Actor("pipeline", origin="run", run_id=run_id)
        started = time.monotonic()
        entered = self._enter(recording_id, stage, run_id)
        if entered is None:
            return StageOutcome("skipped", recording_id, stage.name, {"reason": "recording skipped"}, 0.0)
        stage_row_id, payload = entered
        try:
            output = work(payload)
        except Exception as exc:
            message = str(exc) if isinstance(exc, LeapError) else f"unexpected {type(exc).__name__}: {exc}"
            self._fail(recording_id, stage, stage_row_id, message, actor)
            raise
        elapsed = time.monotonic() - started
        status = self._exit(recording_id, stage, stage_row_id, output, actor, elapsed)
        return StageOutcome(status, recording_id, stage.name, output.metadata, elapsed)

    def _enter(self, recording_id: str, stage: Stage, run_id: str | None) -> tuple[int, StageInput] | None:
        with self.db.session() as session:
            recording = load(session, recording_id)
            if recording.status is RecordingStatus.SKIPPED:
                return None
            if recording.status is stage.ready and stage.ready is not stage.working:
                recordings.transition(session, recording, stage.working)
            elif recording.status is not stage.working:
                raise InvalidTransitionError(
                    f"recording {recording_id} is {recording.status}; stage {stage.name} starts from "
                    f"{stage.ready} (use `leap recordings reset` to reprocess it)"
                )
            row = ProcessingStage(recording_id=recording_id, stage=stage.name, status="running", run_id=run_id)
            session.add(row)
            session.flush()
            return row.id, snapshot(session, recording, self.settings)

    def _exit(
        self, recording_id: str, stage: Stage, row_id: int, output: StageOutput, actor: Actor, elapsed: float
    ) -> Literal["completed", "skipped"]:
        with self.db.session() as session:
            recording = load(session, recording_id)
            row = session.get(ProcessingStage, row_id)
            assert row is not None
            row.completed_at = utcnow()
            row.details = {**output.metadata, "elapsed_s": round(elapsed, 3)}
            if output.duration_s is not None:
                recording.duration_s = output.duration_s
            if output.skip_reason is not None:
                row.status = "skipped"
                recordings.transition(session, recording, RecordingStatus.SKIPPED)
                recording.skip_reason = output.skip_reason
                audit.record(session, actor, "recording.skip", "recording", recording_id,
                             user_id=recording.user_id, details={"reason": output.skip_reason, "stage": stage.name})
                return "skipped"
            row.status = "completed"
            if stage.done is not None:
                recordings.transition(session, recording, stage.done)
            return "completed"

    def _fail(self, recording_id: str, stage: Stage, row_id: int, message: str, actor: Actor) -> None:
        with self.db.session() as session:
            recording = load(session, recording_id)
            row = session.get(ProcessingStage, row_id)
            assert row is not None
            row.status = "failed"
            row.completed_at = utcnow()
            row.error = message
            if recording.status is not RecordingStatus.FAILED:
                recordings.fail(session, recording, stage.name, message)
            audit.record(session, actor, "recording.fail", "recording", recording_id, user_id=recording.user_id,
                         details={"stage": stage.name, "error": message}, result="failure")
        log.warning("recording %s failed at %s: %s", recording_id, stage.name, message)


def file_metadata(path: Path) -> dict[str, Any]:
    return {"path": str(path), "size_bytes": path.stat().st_size if path.exists() else 0}
