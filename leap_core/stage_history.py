"""Where a recording stopped, read from its state, its stage rows and its targets.

The reconciler and a run's death sensor fail a recording at this stage, and `retry` continues from it:
both always name a real stage, never a placeholder.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core.db.models import OutputTarget, ProcessingStage, Recording
from leap_core.stages import DOWNLOAD, PROCESSING_STAGES, SUBTITLES, TOPICS, TRANSCRIBE, TRIM, stage_named, upload_stage
from leap_core.states import RecordingStatus, TargetStatus

R = RecordingStatus
RESTING_NEXT = {R.INITIALIZED: DOWNLOAD.name, R.DOWNLOADED: TRIM.name, R.PROCESSED: TRANSCRIBE.name}
"""Resting states and the stage a run was meant to do next (TRANSCRIBED: its first unpublished target)."""
TRANSCRIBING_ORDER = (TRANSCRIBE.name, TOPICS.name, SUBTITLES.name)


def blame_stage(session: Session, recording: Recording) -> str:
    """The stage the recording stopped in or before: a running stage row, else what its state implies.

    Always a real stage name, so `retry` can continue from it.
    """
    running = session.scalar(select(ProcessingStage.stage).where(
        ProcessingStage.recording_id == recording.id, ProcessingStage.status == "running")
        .order_by(ProcessingStage.id.desc()).limit(1))
    if running is not None:
        return running
    if recording.status in RESTING_NEXT:
        return RESTING_NEXT[recording.status]
    if recording.status in (R.TRANSCRIBED, R.UPLOADING):
        return _unpublished_stage(session, recording)
    if recording.status is R.TRANSCRIBING:
        return _next_transcribing_stage(session, recording)
    working = {stage.working: stage.name for stage in reversed(PROCESSING_STAGES)}
    return working.get(recording.status, DOWNLOAD.name)


def _unpublished_stage(session: Session, recording: Recording) -> str:
    """The upload stage of the target in flight, else of the first target not yet uploaded."""
    targets = session.execute(select(OutputTarget.platform, OutputTarget.status)
                              .where(OutputTarget.recording_id == recording.id)
                              .order_by(OutputTarget.platform)).all()
    for wanted in (TargetStatus.UPLOADING, TargetStatus.FAILED, TargetStatus.NOT_UPLOADED):
        for platform, status in targets:
            if status is wanted:
                return upload_stage(platform).name
    return upload_stage(targets[0].platform if targets else "local").name


def _next_transcribing_stage(session: Session, recording: Recording) -> str:
    """Inside TRANSCRIBING: the stage after the last one that completed (transcribe → topics → subtitles)."""
    order = list(TRANSCRIBING_ORDER)
    last = session.scalar(select(ProcessingStage.stage).where(
        ProcessingStage.recording_id == recording.id, ProcessingStage.stage.in_(order),
        ProcessingStage.status == "completed").order_by(ProcessingStage.id.desc()).limit(1))
    if last is None or last == SUBTITLES.name:
        return TRANSCRIBE.name
    return order[order.index(last) + 1]


def resume_stage(session: Session, recording: Recording) -> str:
    """Where `retry` continues a FAILED recording: its failed stage when that is a stage LEAP knows,
    else the one after the last stage that completed (rows written before stages were always named)."""
    if recording.failed_at_stage:
        try:
            return stage_named(recording.failed_at_stage).name
        except KeyError:
            pass
    done = set(session.scalars(select(ProcessingStage.stage).where(
        ProcessingStage.recording_id == recording.id, ProcessingStage.status == "completed")))
    pending = next((stage.name for stage in PROCESSING_STAGES if stage.name not in done), None)
    return pending if pending is not None else _unpublished_stage(session, recording)
