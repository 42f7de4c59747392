"""Runs one output target of one recording through its own state machine.

Targets are independent: each moves NOT_UPLOADED/FAILED → UPLOADING → UPLOADED or FAILED on its own, a
target may start while a sibling's failure holds the recording FAILED, the recording's state is derived
from its targets after every change (`settlement.settle`, in the same transaction), and a target that
already holds a platform video id is never uploaded again, whatever re-runs it. An upload's progress is
saved on the target row (`resume_state`) after every step, so the next attempt continues it; a parked
target (platform quota, flood control) keeps its `retry_after`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from leap_core import attempts, audit, recordings
from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.db.models import OutputTarget, ProcessingStage, Recording
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.errors import ConcurrentModificationError, InvalidTransitionError, LeapError
from leap_core.notifications import notify, recording_published, upload_failed, upload_waiting
from leap_core.pipeline.runner import StageInput, load, snapshot
from leap_core.publishing.base import Checkpoint, PublishError, PublishParked
from leap_core.publishing.settlement import failed_publishing, settle
from leap_core.stages import SUBTITLES, TOPICS, TRANSCRIBE, TRIM, upload_stage
from leap_core.states import RecordingStatus, TargetStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    video_id: str
    url: str | None
    metadata: dict[str, Any]


@dataclass(frozen=True)
class TargetOutcome:
    status: Literal["uploaded", "reused", "refreshed", "not_requested", "skipped", "held"]
    platform: str
    video_id: str | None
    url: str | None
    metadata: dict[str, Any]
    elapsed_s: float


Publish = Callable[[StageInput, OutputTarget], Published]
"""Gets the detached target row: its `id` (for `TargetRunner.checkpoint`) and the stored `resume_state`."""
Refresh = Callable[[StageInput, OutputTarget, list[str]], dict[str, Any]]
"""Brings a published target up to date with regenerated outputs (the stage names given); returns metadata."""
CONTENT_STAGES = (TRIM.name, TRANSCRIBE.name, TOPICS.name, SUBTITLES.name)


def changed_since_published(session: Session, recording_id: str, stage_name: str) -> list[str]:
    """The content stages completed again after the target's last completed publish or refresh (a
    reprocess, a reset): what the published copy no longer matches. Stage rows' ids give the order."""
    last = session.scalar(select(func.max(ProcessingStage.id)).where(
        ProcessingStage.recording_id == recording_id, ProcessingStage.stage == stage_name,
        ProcessingStage.status == "completed"))
    if last is None:
        return []
    newer = set(session.scalars(select(ProcessingStage.stage).where(
        ProcessingStage.recording_id == recording_id, ProcessingStage.stage.in_(CONTENT_STAGES),
        ProcessingStage.status == "completed", ProcessingStage.id > last)))
    return [name for name in CONTENT_STAGES if name in newer]


def _target(session: Session, recording_id: str, platform: str) -> OutputTarget | None:
    return session.scalar(select(OutputTarget).where(
        OutputTarget.recording_id == recording_id, OutputTarget.platform == platform))


def _take(session: Session, recording: Recording, target: OutputTarget, stage_name: str) -> None:
    """Claim the target for this run; an UPLOADING target whose run is gone (no running stage row) is resumed."""
    if target.status is TargetStatus.UPLOADING:
        running = session.scalar(select(ProcessingStage.run_id).where(
            ProcessingStage.recording_id == recording.id, ProcessingStage.stage == stage_name,
            ProcessingStage.status == "running").limit(1))
        if running is not None:
            raise ConcurrentModificationError(
                f"{stage_name} of recording {recording.id} is already running in run {running}")
        recordings.transition_target(session, target, TargetStatus.FAILED)
    recordings.transition_target(session, target, TargetStatus.UPLOADING)
    target.attempts += 1


class TargetRunner:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def run(self, recording_id: str, platform: str, publish: Publish, run_id: str | None = None,
            refresh: Refresh | None = None) -> TargetOutcome:
        """Publish the target; one already published is reused or — when its outputs were regenerated since
        and `refresh` is given — brought up to date by `refresh`, never uploaded again."""
        actor = Actor("pipeline", origin="run", run_id=run_id)
        stage = upload_stage(platform)
        started = time.monotonic()
        refreshed = self._refresh(recording_id, platform, refresh, run_id, actor) if refresh else None
        if refreshed is not None:
            return refreshed
        with self.db.session() as session:
            recording = load(session, recording_id)
            target = _target(session, recording_id, platform)
            if recording.status is RecordingStatus.SKIPPED or target is None:
                reason = "skipped" if target is not None else "not_requested"
                return TargetOutcome(reason, platform, None, None, {}, 0.0)  # type: ignore[arg-type]
            if target.status is TargetStatus.UPLOADED:
                settle(session, recording, only_uploaded=True)
                return TargetOutcome("reused", platform, target.video_id, target.url, {}, 0.0)
            if recording.review_reason is not None:  # waits for its owner's approval (leap_core.review)
                return TargetOutcome("held", platform, None, None, {"held": recording.review_reason}, 0.0)
            attempts.claim(session, recording, run_id)
            if recording.status is RecordingStatus.TRANSCRIBED:
                recordings.transition(session, recording, RecordingStatus.UPLOADING)
            elif recording.status is not RecordingStatus.UPLOADING and not failed_publishing(recording):
                raise InvalidTransitionError(
                    f"recording {recording_id} is {recording.status}; publishing needs it TRANSCRIBED")
            _take(session, recording, target, stage.name)
            settle(session, recording)
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
            retry_after = exc.retry_after if isinstance(exc, PublishParked) else None
            self._fail(recording_id, platform, row_id, message, retry_after, actor)
            raise
        elapsed = time.monotonic() - started
        with self.db.session() as session:
            recording = load(session, recording_id)
            target = _target(session, recording_id, platform)
            assert target is not None
            recordings.transition_target(session, target, TargetStatus.UPLOADED)
            target.video_id, target.url = published.video_id, published.url
            target.retry_after, target.error_message, target.resume_state = None, None, {}
            target.parked_attempts = 0
            stage_row = session.get(ProcessingStage, row_id)
            assert stage_row is not None
            stage_row.status, stage_row.completed_at = "completed", utcnow()
            stage_row.details = {**published.metadata, "video_id": published.video_id, "url": published.url,
                                 "elapsed_s": round(elapsed, 3)}
            audit.record(session, actor, "target.upload", "output_target", target.id, user_id=recording.user_id,
                         details={"platform": platform, "video_id": published.video_id, "url": published.url})
            notify(session, recording.user_id, recording_published(
                recording_id, recording.title, platform, published.video_id, published.url))
            settle(session, recording)
        return TargetOutcome("uploaded", platform, published.video_id, published.url, published.metadata, elapsed)

    def _refresh(self, recording_id: str, platform: str, refresh: Refresh, run_id: str | None,
                 actor: Actor) -> TargetOutcome | None:
        """A published target whose outputs were regenerated since (ADR 0027): refreshed in place, with a stage
        row and an audit record of its own; None when there is nothing to refresh (the usual path decides)."""
        stage_name = upload_stage(platform).name
        started = time.monotonic()
        with self.db.session() as session:
            recording = load(session, recording_id)
            target = _target(session, recording_id, platform)
            if target is None or target.status is not TargetStatus.UPLOADED:
                return None
            changed = changed_since_published(session, recording_id, stage_name)
            if not changed:
                return None
            row = ProcessingStage(recording_id=recording_id, stage=stage_name, status="running", run_id=run_id,
                                  details={"refresh": True, "changed": changed})
            session.add(row)
            session.flush()
            row_id, payload, user_id = row.id, snapshot(session, recording, self.settings), recording.user_id
            session.expunge(target)
        try:
            metadata = refresh(payload, target, changed)
        except Exception as exc:
            message = str(exc) if isinstance(exc, LeapError) else f"unexpected {type(exc).__name__}: {exc}"
            with self.db.session() as session:  # the target stays UPLOADED: the published copy is still there
                stage_row = session.get_one(ProcessingStage, row_id)
                stage_row.status, stage_row.completed_at, stage_row.error = "failed", utcnow(), message
                audit.record(session, actor, "target.refresh", "output_target", target.id, user_id=user_id,
                             details={"platform": platform, "changed": changed, "error": message}, result="failure")
                settle(session, load(session, recording_id), only_uploaded=True)
            raise
        elapsed = time.monotonic() - started
        with self.db.session() as session:
            stage_row = session.get_one(ProcessingStage, row_id)
            stage_row.status, stage_row.completed_at = "completed", utcnow()
            stage_row.details = {**stage_row.details, **metadata, "video_id": target.video_id, "url": target.url,
                                 "elapsed_s": round(elapsed, 3)}
            audit.record(session, actor, "target.refresh", "output_target", target.id, user_id=user_id,
                         details={"platform": platform, "video_id": target.video_id, "changed": changed,
                                  **{k: v for k, v in metadata.items() if k in ("refreshed", "not_refreshed")}})
            settle(session, load(session, recording_id), only_uploaded=True)  # as a reused target would
        return TargetOutcome("refreshed", platform, target.video_id, target.url,
                             {**metadata, "changed": changed}, elapsed)

    def checkpoint(self, target_id: str) -> Checkpoint:
        """Saves a publisher's resume state on the target row, one short transaction per step."""

        def save(state: dict[str, Any]) -> None:
            try:
                with self.db.session() as session:
                    target = session.get(OutputTarget, target_id)
                    assert target is not None
                    target.resume_state = state
            except SQLAlchemyError as exc:
                # The database error would quote the state (an upload session URI is a bearer secret).
                log.warning("could not save upload progress of target %s: %s", target_id, type(exc).__name__)
                raise PublishError(
                    "could not save the upload's progress to the database; a retry continues from the last "
                    "saved step"
                ) from None

        return save

    def _fail(
        self, recording_id: str, platform: str, row_id: int, message: str, retry_after: datetime | None,
        actor: Actor,
    ) -> None:
        stage_name = upload_stage(platform).name
        with self.db.session() as session:
            recording = load(session, recording_id)
            target = _target(session, recording_id, platform)
            assert target is not None
            recordings.transition_target(session, target, TargetStatus.FAILED)
            target.error_message, target.retry_after = message, retry_after
            stage_row = session.get(ProcessingStage, row_id)
            assert stage_row is not None
            stage_row.status, stage_row.completed_at, stage_row.error = "failed", utcnow(), message
            settle(session, recording)
            details: dict[str, Any] = {"platform": platform, "error": message}
            if retry_after is not None:
                details["retry_after"] = retry_after.isoformat()
            audit.record(session, actor, "target.fail", "output_target", target.id, user_id=recording.user_id,
                         details=details, result="failure")
            if retry_after is None:
                event = upload_failed(recording_id, recording.title, platform, message, row_id)
            else:  # one notice per parking series: the automatic re-tries of it keep the same key
                series = target.attempts - target.parked_attempts
                event = upload_waiting(recording_id, recording.title, platform, retry_after, message, series)
            notify(session, recording.user_id, event)
        log.warning("recording %s: %s failed: %s", recording_id, stage_name, message)
