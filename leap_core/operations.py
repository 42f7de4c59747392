"""What a user can ask of many recordings at once: process, skip, delete, and retry of failed uploads.

Every operation loads its rows in one query, refuses or reports per recording with its state, writes
its state changes, run requests and audit records in the caller's one transaction, and honours
`dry_run` by computing the same report and writing nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from leap_core import accounting, audit, recordings, usage
from leap_core.accounting import RecordingDisk
from leap_core.attempts import QUEUED
from leap_core.audit import Actor
from leap_core.db.models import OutputTarget, ProcessingStage, Recording, RunRequest
from leap_core.db.types import utcnow
from leap_core.errors import ConcurrentModificationError, InvalidTransitionError
from leap_core.notifications import notify, upload_failed
from leap_core.publishing.settlement import settle
from leap_core.search import index as search_index
from leap_core.stages import DOWNLOAD, upload_stage
from leap_core.states import IN_FLIGHT, RecordingStatus, TargetStatus

ACTIVE_REQUESTS = ("pending", "submitted", "launched")


@dataclass
class OperationReport:
    """Per-recording outcome: `done` ids, and `refused` ids with the reason a person can act on."""

    action: str
    dry_run: bool
    done: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "dry_run": self.dry_run, "done": self.done, "refused": self.refused}


def _bulk_transition(
    session: Session, ids: Sequence[str], expected: Sequence[RecordingStatus], new: RecordingStatus, **values: Any
) -> None:
    """One conditional UPDATE; if any row moved meanwhile, the whole batch is refused."""
    if not ids:
        return
    result = session.execute(
        update(Recording)
        .where(Recording.id.in_(ids), Recording.status.in_(expected))
        .values(status=new, version=Recording.version + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(ids):  # type: ignore[attr-defined]
        raise ConcurrentModificationError("some recordings changed while this ran; nothing was changed")


def request_runs(session: Session, rows: Sequence[Recording], stage: str, reason: str, actor: Actor) -> None:
    if rows:
        now = utcnow()
        session.execute(insert(RunRequest), [
            {"recording_id": r.id, "user_id": r.user_id, "first_stage": stage, "reason": reason,
             "requested_by": actor.name, "template_id": r.template_id, "status": "pending", "created_at": now}
            for r in rows
        ])


def busy_recordings(session: Session, ids: Sequence[str]) -> set[str]:
    """Recordings with a run request not yet finished: work is queued or in flight for them."""
    return set(session.scalars(
        select(RunRequest.recording_id).where(RunRequest.recording_id.in_(ids), RunRequest.status.in_(ACTIVE_REQUESTS))
    ))


def sort_eligible(
    session: Session, report: OperationReport, rows: Sequence[Recording],
    refusal: Callable[[Recording], str | None], busy_reason: str,
) -> list[Recording]:
    """Rows an operation may act on: the others go to `report.refused` with the first reason that applies
    (`refusal`'s, then `busy_reason` for a recording with a run queued or in flight); `report.done` is set
    to the eligible ids, so a dry run reports exactly what a real one would do."""
    busy = busy_recordings(session, [r.id for r in rows])
    eligible = []
    for row in rows:
        reason = refusal(row) or (busy_reason if row.id in busy else None)
        if reason is None:
            eligible.append(row)
        else:
            report.refused[row.id] = reason
    report.done = [r.id for r in eligible]
    return eligible


def process(session: Session, actor: Actor, rows: Sequence[Recording], dry_run: bool = False) -> OperationReport:
    """INITIALIZED recordings get a run request from the download stage; others are reported with their state."""
    report = OperationReport("recording.process", dry_run)
    eligible = sort_eligible(
        session, report, rows,
        lambda row: None if row.status is RecordingStatus.INITIALIZED
        else f"not eligible: recording is {row.status.value}, processing needs INITIALIZED",
        "already requested: a run is queued or in flight",
    )
    if not dry_run:
        request_runs(session, eligible, DOWNLOAD.name, "process", actor)
        audit.record_many(session, actor, report.action, "recording", [(r.id, r.user_id, {}) for r in eligible])
    return report


def skip(
    session: Session, actor: Actor, rows: Sequence[Recording], reason: str, dry_run: bool = False
) -> OperationReport:
    report = OperationReport("recording.skip", dry_run)
    allowed = (RecordingStatus.INITIALIZED, RecordingStatus.PENDING_SOURCE)
    eligible = [r for r in rows if r.status in allowed]
    for row in rows:
        if row.status not in allowed:
            report.refused[row.id] = f"cannot skip a {row.status.value} recording (only INITIALIZED or PENDING_SOURCE)"
    report.done = [r.id for r in eligible]
    if not dry_run:
        _bulk_transition(session, report.done, allowed, RecordingStatus.SKIPPED, skip_reason=reason, storage_bytes=0)
        _release_reservations(session, eligible)
        audit.record_many(session, actor, report.action, "recording",
                          [(r.id, r.user_id, {"reason": reason, "before": r.status.value}) for r in eligible])
    return report


def _release_reservations(session: Session, rows: Sequence[Recording]) -> None:
    """A recording skipped before its download will never take the bytes reserved for it: give them back."""
    by_user: dict[str, int] = {}
    for row in rows:
        by_user[row.user_id] = by_user.get(row.user_id, 0) + row.storage_bytes
    for user_id, reserved in by_user.items():
        if reserved:
            usage.release_storage(session, user_id, reserved)


def _interrupted(session: Session, pairs: Sequence[Any], busy: set[str]) -> list[OutputTarget]:
    """UPLOADING targets whose run is over: no request is active and the recording was failed or no stage
    row of that upload is still running (a killed run's rows are closed by the failure sensor)."""
    candidates = [(t, r) for t, r in pairs if t.status is TargetStatus.UPLOADING and r.id not in busy]
    if not candidates:
        return []
    running = set(session.execute(
        select(ProcessingStage.recording_id, ProcessingStage.stage).where(
            ProcessingStage.recording_id.in_([r.id for _, r in candidates]), ProcessingStage.status == "running")
    ).tuples())
    return [t for t, r in candidates
            if r.status is RecordingStatus.FAILED or (r.id, upload_stage(t.platform).name) not in running]


def retry_failed_uploads(session: Session, actor: Actor, user_id: str, dry_run: bool = False) -> OperationReport:
    """Every FAILED target of the user, and every one a dead run left UPLOADING: its recording goes back to
    UPLOADING with one run that settles all its targets (a stored upload session resumes where it stopped).

    A retry by hand starts a new series of automatic attempts for a parked target.
    """
    report = OperationReport("recording.retry", dry_run)
    pairs = session.execute(
        select(OutputTarget, Recording)
        .join(Recording, Recording.id == OutputTarget.recording_id)
        .where(Recording.user_id == user_id, Recording.deleted_at.is_(None),
               OutputTarget.status.in_([TargetStatus.FAILED, TargetStatus.UPLOADING]))
        .order_by(OutputTarget.platform)
    ).all()
    busy = busy_recordings(session, [r.id for _, r in pairs])
    interrupted = {t.id for t in _interrupted(session, pairs, busy)}
    requests = []
    for target, recording in pairs:
        if target.status is TargetStatus.UPLOADING and target.id not in interrupted:
            report.refused[recording.id] = f"its {target.platform} upload is in flight"
        elif recording.id in busy:
            report.refused[recording.id] = "already requested: a run is queued or in flight"
        elif recording.status not in (RecordingStatus.FAILED, RecordingStatus.UPLOADING):
            report.refused[recording.id] = f"recording is {recording.status.value}; its upload cannot be retried"
        else:
            requests.append((target, recording))
    report.done = sorted({r.id for _, r in requests})
    if dry_run or not requests:
        return report
    for target, _recording in requests:
        if target.id in interrupted:
            recordings.transition_target(session, target, TargetStatus.FAILED)
            target.error_message = "interrupted: the run uploading it ended before the upload did"
        target.parked_attempts = 0
    first_target = {r.id: (t, r) for t, r in reversed(requests)}  # one run per recording settles all its targets
    requests = list(first_target.values())
    failed_ids = sorted({r.id for _, r in requests if r.status is RecordingStatus.FAILED})
    session.flush()
    _bulk_transition(session, failed_ids, [RecordingStatus.FAILED], RecordingStatus.UPLOADING,
                     failed=False, error_message=None, retry_count=Recording.retry_count + 1, attempt_owner=QUEUED)
    now = utcnow()
    session.execute(insert(RunRequest), [
        {"recording_id": r.id, "user_id": r.user_id, "first_stage": upload_stage(t.platform).name,
         "reason": "retry", "requested_by": actor.name, "template_id": r.template_id, "status": "pending",
         "created_at": now}
        for t, r in requests
    ])
    audit.record_many(session, actor, report.action, "recording",
                      [(r.id, r.user_id, {"stage": upload_stage(t.platform).name,
                                          "interrupted": sorted(p.platform for p, q in pairs
                                                                if q.id == r.id and p.id in interrupted)})
                       for t, r in requests])
    for _, recording in requests:
        session.expire(recording)
    return report


def ensure_deletable(session: Session, recording: Recording) -> None:
    if recording.status in IN_FLIGHT or busy_recordings(session, [recording.id]):
        raise InvalidTransitionError(f"recording {recording.id} has a run queued or in flight; delete refused")


def keep_for_takedown(
    session: Session, actor: Actor, recording: Recording, failures: Sequence[dict[str, Any]]
) -> OperationReport:
    """A `delete --unpublish` whose take-down failed somewhere: the recording stays (its target keeps the
    reason) so the video can still be found and taken down by running the delete again."""
    report = OperationReport("recording.delete", False)
    platforms = ", ".join(f"{f['platform']} ({f['error']})" for f in failures)
    report.refused[recording.id] = (
        f"kept: the video could not be taken down on {platforms}; run the delete with --unpublish again "
        "to retry, or add --force to delete the recording and leave the video up")
    audit.record(session, actor, "recording.delete", "recording", recording.id, user_id=recording.user_id,
                 details={"kept": True, "takedown_failed": [f["platform"] for f in failures]}, result="failure")
    return report


def delete(
    session: Session, actor: Actor, recording: Recording, disk: RecordingDisk, dry_run: bool = False,
    left_on_platforms: Sequence[dict[str, Any]] = (),
) -> OperationReport:
    """Marks the row deleted (it stays, with its history) and asks the launcher to drop the partition.

    The user gets back everything the recording counted — its files and export copy, or, if it was never
    downloaded, the bytes reserved for it — so nothing of a deleted recording stays on the storage quota.
    The caller removes `disk` (storage folder and export copy) once this transaction has committed, so a
    failed commit loses nothing. `left_on_platforms` are forced deletions' videos whose take-down failed;
    the audit names them.
    """
    report = OperationReport("recording.delete", dry_run)
    ensure_deletable(session, recording)
    report.done = [recording.id]
    if dry_run:
        return report
    freed = recording.storage_bytes
    on_disk = disk.size_bytes()
    accounting.settle_storage(session, recording, 0)
    recording.deleted_at = utcnow()
    search_index.remove(session, [recording.id])
    recordings.flush_versioned(session, recording.id)
    session.add(RunRequest(recording_id=recording.id, user_id=recording.user_id, first_stage="delete",
                           reason="delete", requested_by=actor.name, template_id=recording.template_id))
    audit.record(session, actor, report.action, "recording", recording.id, user_id=recording.user_id,
                 details={"status": recording.status.value, "freed_bytes": freed, "on_disk_bytes": on_disk,
                          "partition_key": recording.partition_key,
                          **({"forced": True, "left_on_platforms": [
                              {"platform": f["platform"], "video_id": f["video_id"]} for f in left_on_platforms]}
                             if left_on_platforms else {})})
    return report


def request_due_parked(session: Session, actor: Actor, max_attempts: int) -> list[str]:
    """Targets parked by a platform (retry_after) whose time has come get a run for that target only.

    `max_attempts` counts these automatic re-tries only (`parked_attempts`): neither the first try nor
    a retry by hand, which starts a new series. When they are used up the target stays FAILED, the wait
    is dropped from the recording's reason and the owner gets "upload failed" — the one failure notice
    of a parked target (parking itself tells "waiting for quota until T", once).
    """
    now = utcnow()
    pairs = session.execute(
        select(OutputTarget, Recording)
        .join(Recording, Recording.id == OutputTarget.recording_id)
        .where(OutputTarget.status == TargetStatus.FAILED, OutputTarget.retry_after.is_not(None),
               OutputTarget.retry_after <= now, Recording.deleted_at.is_(None))
    ).all()
    busy = busy_recordings(session, [r.id for _, r in pairs])
    requested: list[str] = []
    for target, recording in pairs:
        if recording.id in busy:
            continue
        target.retry_after = None
        if target.parked_attempts >= max_attempts:
            message = (f"gave up after {target.parked_attempts} automatic attempts; "
                       f"last error: {target.error_message}")
            notify(session, recording.user_id, upload_failed(
                recording.id, recording.title, target.platform, message, f"gave-up-{target.attempts}"))
            audit.record(session, actor, "target.give_up", "output_target", target.id, user_id=recording.user_id,
                         details={"platform": target.platform, "attempts": target.parked_attempts},
                         result="failure")
            session.flush()
            settle(session, recording)
            continue
        target.parked_attempts += 1
        if recording.status is RecordingStatus.FAILED:
            recordings.transition(session, recording, RecordingStatus.UPLOADING)
            recording.failed, recording.error_message, recording.attempt_owner = False, None, QUEUED
        recordings.request_run(session, recording, upload_stage(target.platform).name, "parked", actor)
        requested.append(recording.id)
    return requested
