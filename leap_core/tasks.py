"""Tasks: a user's pipeline runs as they see them — status, progress, the step in words, and cancel.

A task is a run request (the only way work is asked for) read together with its recording and the
`processing_stages` rows its run wrote, so the core answers "how far is my run" without asking
Dagster. Cancel is a request too: the core writes `cancel_requested`, and the orchestrator's cancel
sensor stops the run and calls `close_canceled`, which leaves the recording FAILED at the stage it
was in — the state `retry` continues from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leap_core import audit, recordings
from leap_core.audit import Actor
from leap_core.db.models import AuditLog, OutputTarget, ProcessingStage, Recording, RunRequest
from leap_core.db.types import utcnow
from leap_core.errors import InvalidTransitionError, NotFoundError
from leap_core.launcher import PARTITION_ONLY  # partition bookkeeping (delete, archive, restore), not tasks
from leap_core.stages import PROCESSING_STAGES, stage_for_working_state, stage_named, upload_stage
from leap_core.states import RECORDING_TRANSITIONS, RecordingStatus, TargetStatus

CANCEL_REQUESTED = "cancel_requested"
CANCELED = "canceled"
CANCELABLE = ("pending", "submitted", "launched")
DONE_ROWS = ("completed", "skipped")


class TaskStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELED = "CANCELED"


@dataclass(frozen=True)
class CancelItem:
    """A cancellation the orchestrator still has to carry out."""

    request_id: int
    recording_id: str
    run_id: str | None
    canceled_by: str


def scope(first_stage: str, platforms: Sequence[str]) -> list[str]:
    """The stages a run starting at `first_stage` goes through: what its progress is counted against."""
    if first_stage.startswith("upload:"):
        return [first_stage]
    names = [s.name for s in PROCESSING_STAGES]
    return names[names.index(first_stage):] + [upload_stage(p).name for p in platforms]


def _status(request: RunRequest, rows: Sequence[ProcessingStage], done: int, total: int) -> TaskStatus:
    if request.status == CANCELED:
        return TaskStatus.CANCELED
    if request.run_id is None:
        return TaskStatus.PENDING
    if any(r.status == "failed" for r in rows):
        return TaskStatus.FAILURE
    if any(r.status == "skipped" for r in rows) or done >= total:
        return TaskStatus.SUCCESS
    # A finished run that stopped short of its scope failed before a stage could say so.
    return TaskStatus.FAILURE if request.status == "finished" else TaskStatus.PROCESSING


def _step(request: RunRequest, status: TaskStatus, rows: Sequence[ProcessingStage]) -> str:
    if request.status == CANCEL_REQUESTED:
        return "Canceling…"
    running = [r for r in rows if r.status == "running"]
    if status is TaskStatus.PROCESSING and running:
        return stage_named(running[-1].stage).words
    failed = [r for r in rows if r.status == "failed"]
    skipped = [r for r in rows if r.status == "skipped"]
    if status is TaskStatus.SUCCESS and skipped:
        why = skipped[-1].details.get("skip_detail") or skipped[-1].details.get("skip_reason") or "skipped"
        return f"Skipped at {skipped[-1].stage}: {why}"
    return {
        TaskStatus.PENDING: "Waiting for a free worker…",
        TaskStatus.PROCESSING: "Starting…",
        TaskStatus.SUCCESS: "Done",
        TaskStatus.FAILURE: f"Failed at {failed[-1].stage}" if failed else "Failed",
        TaskStatus.CANCELED: "Canceled",
    }[status]


OUTPUT_KEYS = ("path", "srt", "vtt")
"""The keys of a stage row's metadata that name a file it wrote."""


def result(
    rows: Sequence[ProcessingStage], recording: Recording, targets: Sequence[OutputTarget]
) -> dict[str, Any]:
    """What a finished task produced: the files its stages wrote and where the recording is published.

    Uploads count whichever run made them (a retry that only re-ran one target still reports them all),
    and a skipped recording says why instead of listing files it never made.
    """
    outputs: dict[str, str] = {}
    for row in rows:
        if row.status == "completed":
            for key in OUTPUT_KEYS:
                if row.details.get(key):
                    outputs[row.stage if key == "path" else f"{row.stage}.{key}"] = str(row.details[key])
    published = [{"platform": t.platform, "url": t.url, "video_id": t.video_id}
                 for t in sorted(targets, key=lambda t: t.platform) if t.status is TargetStatus.UPLOADED]
    return {"outputs": outputs, "published": published, "skip_reason": recording.skip_reason}


def view(
    request: RunRequest, recording: Recording, rows: Sequence[ProcessingStage], targets: Sequence[OutputTarget]
) -> dict[str, Any]:
    """One task as the API and CLI show it; `rows` are the stage rows its run wrote."""
    stages = scope(request.first_stage, [t.platform for t in targets])
    uploaded = {upload_stage(t.platform).name for t in targets if t.status is TargetStatus.UPLOADED}
    finished = {r.stage for r in rows if r.status in DONE_ROWS} | (uploaded if request.run_id else set())
    done = sum(1 for name in stages if name in finished)
    status = _status(request, rows, done, len(stages))
    failed = [r for r in rows if r.status == "failed"]
    error = (failed[-1].error if failed else recording.error_message) if status is TaskStatus.FAILURE else None
    return {
        "id": request.id, "recording_id": recording.id, "title": recording.title,
        "partition_key": recording.partition_key, "first_stage": request.first_stage, "reason": request.reason,
        "requested_by": request.requested_by, "run_id": request.run_id, "status": status.value,
        "progress": 100 if status is TaskStatus.SUCCESS else round(100 * done / len(stages)),
        "step": _step(request, status, rows), "error": error, "created_at": request.created_at,
        "launched_at": request.launched_at, "finished_at": request.finished_at,
        "result": result(rows, recording, targets) if status is TaskStatus.SUCCESS else None,
    }


def _views(session: Session, pairs: Sequence[tuple[RunRequest, Recording]]) -> list[dict[str, Any]]:
    """Views for many tasks with two more queries in all (stage rows by run, targets by recording)."""
    run_ids = [r.run_id for r, _ in pairs if r.run_id]
    rows: dict[str, list[ProcessingStage]] = defaultdict(list)
    if run_ids:
        for row in session.scalars(select(ProcessingStage).where(ProcessingStage.run_id.in_(run_ids))
                                   .order_by(ProcessingStage.id)):
            rows[row.run_id or ""].append(row)
    targets: dict[str, list[OutputTarget]] = defaultdict(list)
    for target in session.scalars(select(OutputTarget).where(
            OutputTarget.recording_id.in_({rec.id for _, rec in pairs}))):
        targets[target.recording_id].append(target)
    return [view(req, rec, rows[req.run_id] if req.run_id else [], targets[rec.id]) for req, rec in pairs]


def _owned(user_id: str) -> Any:
    return (select(RunRequest, Recording).join(Recording, Recording.id == RunRequest.recording_id)
            .where(RunRequest.user_id == user_id, RunRequest.first_stage.not_in(PARTITION_ONLY),
                   Recording.deleted_at.is_(None)))


def list_tasks(
    session: Session, user_id: str, status: TaskStatus | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The user's tasks, newest first; a status filter applies to the derived status."""
    pairs = [(req, rec) for req, rec in session.execute(_owned(user_id).order_by(RunRequest.id.desc()).limit(
        limit if status is None else limit * 10)).all()]
    tasks = _views(session, pairs)
    return [t for t in tasks if status is None or t["status"] == status.value][:limit]


def _load(session: Session, user_id: str, request_id: int) -> tuple[RunRequest, Recording]:
    """The user's own task or not found: another user's task id reads exactly like a missing one."""
    row = session.execute(_owned(user_id).where(RunRequest.id == request_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"task not found: {request_id}", resource="run_requests", refs=(str(request_id),))
    return row[0], row[1]


def show(session: Session, user_id: str, request_id: int) -> dict[str, Any]:
    (task,) = _views(session, [_load(session, user_id, request_id)])
    return task


def request_cancel(session: Session, actor: Actor, user_id: str, request_id: int) -> dict[str, Any]:
    """A task not yet handed to Dagster is canceled here and now; a launched one is left to the cancel sensor."""
    request, recording = _load(session, user_id, request_id)
    if request.status not in CANCELABLE:
        raise InvalidTransitionError(f"task {request_id} is {_status_of(session, request, recording)}; "
                                     "only pending or running tasks can be canceled")
    before = request.status
    taken = session.execute(
        update(RunRequest).where(RunRequest.id == request_id, RunRequest.status == "pending")
        .values(status=CANCELED, finished_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    if not taken:
        request.status = CANCEL_REQUESTED
    audit.record(session, actor, "task.cancel", "run_request", str(request_id), user_id=user_id,
                 details={"before": before, "after": CANCELED if taken else CANCEL_REQUESTED,
                          "recording_id": recording.id})
    if taken:
        session.expire(request)
        _fail_canceled(session, request, recording, actor, actor.name)
    session.flush()
    return show(session, user_id, request_id)


def _status_of(session: Session, request: RunRequest, recording: Recording) -> str:
    (task,) = _views(session, [(request, recording)])
    return str(task["status"])


def pending_cancels(session: Session) -> list[CancelItem]:
    """Cancellations waiting for the orchestrator, with who asked (from the audit record that asked)."""
    requests = session.scalars(select(RunRequest).where(RunRequest.status == CANCEL_REQUESTED)
                               .order_by(RunRequest.id)).all()
    askers: dict[str, str] = {}
    if requests:
        for entry in session.scalars(select(AuditLog).where(
                AuditLog.action == "task.cancel", AuditLog.resource_type == "run_request",
                AuditLog.resource_id.in_([str(r.id) for r in requests])).order_by(AuditLog.id)):
            askers[entry.resource_id or ""] = entry.actor
    return [CancelItem(r.id, r.recording_id, r.run_id, askers.get(str(r.id), "unknown")) for r in requests]


def close_canceled(session: Session, actor: Actor, item: CancelItem) -> bool:
    """The run is stopped: the task reads CANCELED and the recording is FAILED where it stopped (retryable)."""
    request = session.get(RunRequest, item.request_id)
    if request is None or request.status != CANCEL_REQUESTED:
        return False
    request.status, request.finished_at = CANCELED, utcnow()
    recording = session.get(Recording, request.recording_id)
    if recording is not None:
        _fail_canceled(session, request, recording, actor, item.canceled_by)
    return True


def _fail_canceled(
    session: Session, request: RunRequest, recording: Recording, actor: Actor, canceled_by: str
) -> None:
    """FAILED at the stage the run was in (or would have started), so `retry` continues from there."""
    reason = f"canceled by {canceled_by}"
    running = list(session.scalars(select(ProcessingStage).where(
        ProcessingStage.recording_id == recording.id, ProcessingStage.status == "running",
        ProcessingStage.run_id == request.run_id)).all()) if request.run_id else []
    for row in running:
        row.status, row.completed_at, row.error = "failed", utcnow(), reason
    working = stage_for_working_state(recording.status)
    stage = running[-1].stage if running else (working.name if working else request.first_stage)
    if RecordingStatus.FAILED in RECORDING_TRANSITIONS[recording.status]:
        recordings.fail(session, recording, stage, reason)
        audit.record(session, actor, "recording.fail",
                     "recording", recording.id, user_id=recording.user_id,
                     details={"stage": stage, "error": reason}, result="failure")


def stalled_runs(session: Session, older_than: timedelta) -> list[str]:
    """Runs with a stage `running` for longer than any stage should take: their worker is presumed gone.

    The orchestrator's own signal (a dead worker pid) is faster; this catches workers on other hosts.
    """
    cutoff = utcnow() - older_than
    return [run_id for run_id in session.scalars(select(ProcessingStage.run_id).distinct().where(
        ProcessingStage.status == "running", ProcessingStage.started_at < cutoff,
        ProcessingStage.run_id.is_not(None))) if run_id is not None]
