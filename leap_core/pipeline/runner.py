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

from leap_core import accounting, attempts, audit, recordings, review
from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.db.models import ProcessingStage, Recording, Template, User
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.errors import InvalidTransitionError, LeapError, NotFoundError
from leap_core.notifications import notify, recording_skipped, stage_failed
from leap_core.stages import TRANSCRIBE, Stage
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
    source_extra: dict[str, str]
    recorded_at: Any
    files: RecordingFiles
    template: dict[str, Any]
    settings: Settings


@dataclass
class StageOutput:
    metadata: dict[str, Any] = field(default_factory=dict)
    skip_reason: str | None = None
    skip_detail: str | None = None
    """Why, in a sentence (`skip_reason` is the short word the recording row keeps, e.g. "blank")."""
    duration_s: float | None = None
    hold_reason: str | None = None
    """Set by the last stage before publishing when the template's review policy holds the recording."""


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
        "language": template.language,
        "retention": dict(template.retention or {}),
        "glossary": dict(template.glossary or {}),
        "review": dict(template.review or {}),
    }


def snapshot(session: Session, recording: Recording, settings: Settings) -> StageInput:
    user = session.get(User, recording.user_id)
    assert user is not None
    template = session.get(Template, recording.template_id) if recording.template_id else None
    return StageInput(
        recording_id=recording.id, user_id=recording.user_id, user_slug=user.slug, title=recording.title,
        source_id=recording.source_id, source_file_id=recording.source_file_id,
        source_name=recording.source_name, source_size=recording.source_size,
        source_extra=dict(recording.source_extra or {}),
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
        stage_row_id, payload, reprocess = entered
        try:
            output = work(payload)
        except Exception as exc:
            message = str(exc) if isinstance(exc, LeapError) else f"unexpected {type(exc).__name__}: {exc}"
            if reprocess:
                self._fail_reprocess(stage_row_id, message)
            else:
                self._fail(recording_id, stage, stage_row_id, message, actor)
            raise
        elapsed = time.monotonic() - started
        status = self._exit(recording_id, stage, stage_row_id, output, actor, elapsed)
        if status == "superseded":
            return StageOutcome("skipped", recording_id, stage.name, {"reason": "superseded by a newer attempt"},
                                elapsed)
        return StageOutcome(status, recording_id, stage.name, output.metadata, elapsed)

    def _enter(self, recording_id: str, stage: Stage, run_id: str | None) -> tuple[int, StageInput, bool] | None:
        """Into the stage's working state, or — for a recording resting past the stage — a reprocess (ADR 0011)."""
        with self.db.session() as session:
            recording = load(session, recording_id)
            if recording.status is RecordingStatus.SKIPPED:
                return None
            reprocess = is_past(recording.status, stage)
            attempts.claim(session, recording, run_id)
            if recording.status is stage.ready and stage.ready is not stage.working:
                recordings.transition(session, recording, stage.working)
            elif recording.status is not stage.working and not reprocess:
                raise InvalidTransitionError(
                    f"recording {recording_id} is {recording.status}; stage {stage.name} starts from "
                    f"{stage.ready} (use `leap recordings reset` to reprocess it)"
                )
            row = ProcessingStage(recording_id=recording_id, stage=stage.name, status="running", run_id=run_id,
                                  details=reprocess_details(session, recording_id, stage) if reprocess else {})
            session.add(row)
            session.flush()
            return row.id, snapshot(session, recording, self.settings), reprocess

    def _exit(
        self, recording_id: str, stage: Stage, row_id: int, output: StageOutput, actor: Actor, elapsed: float
    ) -> Literal["completed", "skipped", "superseded"]:
        with self.db.session() as session:
            recording = load(session, recording_id)
            row = session.get(ProcessingStage, row_id)
            assert row is not None
            row.completed_at = utcnow()
            row.details = {**row.details, **output.metadata, "elapsed_s": round(elapsed, 3)}
            if not attempts.owns(recording, actor.run_id):
                row.status = "superseded"
                attempts.record_late_event(session, recording, actor.run_id, "stage completed", {"stage": stage.name})
                return "superseded"
            self._account(session, recording, stage)
            if row.details.get("reprocess"):
                row.status = "completed"  # regenerated in place: the recording stays where it rests
                audit.record(session, actor, "recording.reprocess", "recording", recording_id,
                             user_id=recording.user_id, details={"stage": stage.name, "status": recording.status.value})
                return "completed"
            if output.duration_s is not None:
                recording.duration_s = output.duration_s
            if output.skip_reason is not None:
                row.status = "skipped"
                row.details = {**row.details, "skip_reason": output.skip_reason, "skip_detail": output.skip_detail}
                recordings.transition(session, recording, RecordingStatus.SKIPPED)
                recording.skip_reason = output.skip_reason
                audit.record(session, actor, "recording.skip", "recording", recording_id, user_id=recording.user_id,
                             details={"reason": output.skip_reason, "detail": output.skip_detail, "stage": stage.name})
                notify(session, recording.user_id, recording_skipped(recording_id, recording.title, stage.name,
                                                                     output.skip_reason, output.skip_detail))
                return "skipped"
            row.status = "completed"
            if stage.done is not None:
                recordings.transition(session, recording, stage.done)
            if output.hold_reason is not None:
                review.hold(session, recording, output.hold_reason, actor)
            return "completed"

    def _account(self, session: Session, recording: Recording, stage: Stage) -> None:
        """Usage follows what the recording holds on disk after the stage (derived files and the export copy
        count too) and, once per recording, its trimmed duration as transcription time (ADR 0027)."""
        user = session.get_one(User, recording.user_id)
        accounting.settle_storage(session, recording,
                                  accounting.recording_disk(self.settings, user.slug, recording).size_bytes())
        if stage.name == TRANSCRIBE.name:
            accounting.charge_transcription(session, recording)

    def _fail(self, recording_id: str, stage: Stage, row_id: int, message: str, actor: Actor) -> None:
        with self.db.session() as session:
            recording = load(session, recording_id)
            row = session.get(ProcessingStage, row_id)
            assert row is not None
            row.status = "failed"
            row.completed_at = utcnow()
            row.error = message
            if not attempts.owns(recording, actor.run_id):
                attempts.record_late_event(session, recording, actor.run_id, "stage failed",
                                           {"stage": stage.name, "error": message})
                return
            if recording.status is not RecordingStatus.FAILED:
                recordings.fail(session, recording, stage.name, message)
            audit.record(session, actor, "recording.fail", "recording", recording_id, user_id=recording.user_id,
                         details={"stage": stage.name, "error": message}, result="failure")
            notify(session, recording.user_id, stage_failed(recording_id, recording.title, stage.name, message, row_id))
        log.warning("recording %s failed at %s: %s", recording_id, stage.name, message)


    def _fail_reprocess(self, row_id: int, message: str) -> None:
        """A failed reprocess fails only its stage row: the recording keeps its state and its published targets."""
        with self.db.session() as session:
            row = session.get(ProcessingStage, row_id)
            assert row is not None
            row.status, row.completed_at, row.error = "failed", utcnow(), message
        log.warning("reprocessing %s failed: %s", row_id, message)


PIPELINE_STATES: tuple[RecordingStatus, ...] = (
    RecordingStatus.INITIALIZED, RecordingStatus.DOWNLOADING, RecordingStatus.DOWNLOADED,
    RecordingStatus.PROCESSING, RecordingStatus.PROCESSED, RecordingStatus.TRANSCRIBING,
    RecordingStatus.TRANSCRIBED, RecordingStatus.UPLOADING, RecordingStatus.UPLOADED,
)
RESTING: frozenset[RecordingStatus] = frozenset({
    RecordingStatus.DOWNLOADED, RecordingStatus.PROCESSED, RecordingStatus.TRANSCRIBED, RecordingStatus.UPLOADED})
"""States with no run working on the recording and its artefacts complete up to there."""


def is_past(status: RecordingStatus, stage: Stage) -> bool:
    """Resting after the stage finished: re-running it regenerates its artefact without moving the recording."""
    return (status in RESTING and status is not stage.ready
            and PIPELINE_STATES.index(status) > PIPELINE_STATES.index(stage.working))


def reprocess_details(session: Session, recording_id: str, stage: Stage) -> dict[str, Any]:
    """The new row remembers the artefact it replaces (the last completed run of the stage)."""
    previous = session.scalar(
        select(ProcessingStage)
        .where(ProcessingStage.recording_id == recording_id, ProcessingStage.stage == stage.name,
               ProcessingStage.status == "completed")
        .order_by(ProcessingStage.id.desc()).limit(1))
    return {"reprocess": True, "previous": dict(previous.details) if previous else None}


def file_metadata(path: Path) -> dict[str, Any]:
    return {"path": str(path), "size_bytes": path.stat().st_size if path.exists() else 0}
