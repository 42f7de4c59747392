"""Recordings: registration, validated transitions, retry and reset, run requests.

Functions here take an open session and never commit: the caller's unit of work decides, so a state
change, its stage row, its run request and its audit record always land together or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from leap_core import audit, usage
from leap_core.attempts import QUEUED
from leap_core.audit import Actor
from leap_core.db.conflicts import insert_or_skip
from leap_core.db.models import OutputTarget, ProcessingStage, Recording, RunRequest, Source, Template, User
from leap_core.db.types import new_ulid, utcnow
from leap_core.errors import ConcurrentModificationError, InvalidTransitionError, NotFoundError
from leap_core.naming import partition_key
from leap_core.paths import safe_extension
from leap_core.quotas import effective_quotas
from leap_core.sources.base import SourceFile, fingerprint
from leap_core.stage_history import resume_stage
from leap_core.stages import DOWNLOAD, stage_named
from leap_core.states import (
    RESETTABLE,
    RecordingStatus,
    TargetStatus,
    check_recording_transition,
    check_target_transition,
)


def transition(session: Session, recording: Recording, new: RecordingStatus) -> None:
    """Move a recording along the table; the version column makes a concurrent mover lose cleanly."""
    check_recording_transition(recording.status, new)
    recording.status = new
    recording.updated_at = utcnow()
    flush_versioned(session, recording.id)


def transition_target(session: Session, target: OutputTarget, new: TargetStatus) -> None:
    check_target_transition(target.status, new)
    target.status = new
    target.updated_at = utcnow()
    flush_versioned(session, target.recording_id)


def flush_versioned(session: Session, recording_id: str) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise ConcurrentModificationError(
            f"recording {recording_id} was changed by another worker; reload and try again"
        ) from None


def fail(session: Session, recording: Recording, stage: str, message: str) -> None:
    transition(session, recording, RecordingStatus.FAILED)
    recording.failed = True
    recording.failed_at_stage = stage
    recording.error_message = message
    flush_versioned(session, recording.id)


def request_run(
    session: Session,
    recording: Recording,
    first_stage: str,
    reason: str,
    actor: Actor,
    automation_job_id: str | None = None,
) -> RunRequest:
    """Ask the launcher for pipeline work; written in the caller's transaction with the state change."""
    request = RunRequest(
        recording_id=recording.id,
        user_id=recording.user_id,
        first_stage=first_stage,
        reason=reason,
        requested_by=actor.name,
        template_id=recording.template_id,
        automation_job_id=automation_job_id,
    )
    session.add(request)
    return request


def register(
    session: Session,
    actor: Actor,
    user: User,
    source: Source,
    template: Template | None,
    file: SourceFile,
    observed_at: datetime | None = None,
    revision: int = 1,
) -> Recording | None:
    """A new file from a source becomes a recording (INITIALIZED, or PENDING_SOURCE while incomplete).

    `observed_at` is when the sync saw the file as it is now (the intake window starts there);
    `revision` above 1 means the file replaces content already taken under the same file id.

    None when that file and revision is already registered: the webhook and the sync can both see a new
    file as unknown and register it at once, and the unique key decides. The quota reservation comes
    first, as for every usage writer: on PostgreSQL it takes the user's usage lock, so two registrations
    of one user queue there instead of deadlocking on each other's inserts; the loser gives it back.
    """
    reservation = usage.reserve_recording(session, user.id, file.size or 0, effective_quotas(session, user.id),
                                          actor=actor)
    recording_id = new_ulid()
    recorded_at = file.recorded_at or datetime.now(UTC)
    title = PurePath(file.name).stem or file.name
    status = RecordingStatus.INITIALIZED if file.complete else RecordingStatus.PENDING_SOURCE
    recording = _insert_once(session, dict(
        id=recording_id,
        user_id=user.id,
        source_id=source.id,
        template_id=template.id if template else None,
        partition_key=partition_key(recorded_at, user.slug, title, recording_id),
        title=title,
        source_file_id=file.file_id,
        source_name=file.name,
        source_size=file.size,
        source_extra=dict(file.extra),
        source_revision=revision,
        source_fingerprint=fingerprint(file),
        source_stable_since=observed_at or utcnow(),
        extension=safe_extension(file.extension),
        recorded_at=recorded_at,
        status=status,
        duration_s=file.duration_s,
        storage_bytes=file.size or 0,  # reserved against the quota above; settled as stages write files
    ))
    if recording is None:  # a concurrent sync or webhook registered this file first: nothing new here
        usage.release_recording(session, user.id, reservation, file.size or 0)
        return None
    for platform in (template.targets if template else []):
        session.add(OutputTarget(recording_id=recording_id, platform=platform))
    audit.record(
        session, actor, "recording.create", "recording", recording_id, user_id=user.id,
        details={"source": source.name, "file": file.name, "status": status.value,
                 "template": template.name if template else None},
    )
    if status is RecordingStatus.INITIALIZED and template is not None and template.process_on_arrival:
        request_run(session, recording, DOWNLOAD.name, "arrival", actor)
    return recording


def _insert_once(session: Session, values: dict[str, Any]) -> Recording | None:
    """INSERT … ON CONFLICT (source_id, source_file_id, source_revision) DO NOTHING RETURNING the row.

    Rather than a flush in a savepoint that catches IntegrityError: only this key's conflict is absorbed
    (any other violation still raises), and nothing rests on pysqlite opening its transaction late (a
    savepoint before the first write is the outermost one, and commits when released). On PostgreSQL an
    insert that meets a concurrent, uncommitted one waits for its commit, then does nothing.
    """
    stmt = (insert_or_skip(session, Recording, ["source_id", "source_file_id", "source_revision"])
            .values(values).returning(Recording))
    return session.scalars(stmt).one_or_none()


def promote_pending(session: Session, actor: Actor, recording: Recording, template: Template | None) -> None:
    """The source now reports the file complete: PENDING_SOURCE → INITIALIZED (and maybe a run)."""
    transition(session, recording, RecordingStatus.INITIALIZED)
    audit.record(session, actor, "recording.source_complete", "recording", recording.id, user_id=recording.user_id)
    if template is not None and template.process_on_arrival:
        request_run(session, recording, DOWNLOAD.name, "arrival", actor)


def load_owned(session: Session, user_id: str, ids: Sequence[str]) -> list[Recording]:
    """All of `ids` owned by the user, in one query; any id that is not theirs reads as not found."""
    unique = list(dict.fromkeys(ids))
    rows = session.scalars(
        select(Recording).where(
            Recording.id.in_(unique), Recording.user_id == user_id, Recording.deleted_at.is_(None)
        )
    ).all()
    found = {r.id for r in rows}
    missing = [i for i in unique if i not in found]
    if missing:
        raise NotFoundError(f"recording not found: {', '.join(missing)}", resource="recordings", refs=tuple(missing))
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in unique]


def retry(session: Session, actor: Actor, rows: Sequence[Recording]) -> list[dict[str, Any]]:
    """FAILED recordings go back into their failed stage, with one run request each.

    Bulk: one conditional UPDATE per target state (at most four), so retrying a thousand recordings
    costs the same handful of statements as retrying one; the `status = FAILED` condition makes a
    concurrent change lose the whole batch rather than half of it.
    """
    if not rows:  # nothing selected: a no-op, not an empty bulk insert (which would write a blank row)
        return []
    not_failed = [r for r in rows if r.status is not RecordingStatus.FAILED]
    if not_failed:
        listed = ", ".join(f"{r.id} ({r.status})" for r in not_failed)
        raise InvalidTransitionError(f"recording is not failed: {listed}")
    stage_of = {r.id: stage_named(resume_stage(session, r)) for r in rows}
    by_state: dict[RecordingStatus, list[str]] = defaultdict(list)
    for recording_id, stage in stage_of.items():
        by_state[stage.working].append(recording_id)
    now = utcnow()
    for working, ids in by_state.items():
        result = session.execute(
            update(Recording)
            .where(Recording.id.in_(ids), Recording.status == RecordingStatus.FAILED)
            .values(status=working, failed=False, error_message=None, retry_count=Recording.retry_count + 1,
                    attempt_owner=QUEUED, version=Recording.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != len(ids):  # type: ignore[attr-defined]
            raise ConcurrentModificationError("some recordings changed while retrying them; nothing was retried")
    publishing = [i for i, stage in stage_of.items() if stage.platform is not None]
    if publishing:  # a retry by hand starts a new series of automatic attempts for parked targets
        session.execute(update(OutputTarget).where(OutputTarget.recording_id.in_(publishing))
                        .values(parked_attempts=0, version=OutputTarget.version + 1)
                        .execution_options(synchronize_session=False))
    requests = [
        {"recording_id": r.id, "user_id": r.user_id, "first_stage": stage_of[r.id].name, "reason": "retry",
         "requested_by": actor.name, "template_id": r.template_id, "status": "pending", "created_at": now}
        for r in rows
    ]
    session.execute(insert(RunRequest), requests)
    audit.record_many(
        session, actor, "recording.retry", "recording",
        [(r.id, r.user_id, {"stage": stage_of[r.id].name, "retry_count": r.retry_count + 1}) for r in rows],
    )
    for recording in rows:
        session.expire(recording)
    return requests


def reset(session: Session, actor: Actor, recording: Recording, in_flight: bool) -> None:
    """Back to INITIALIZED: the one audited move outside the table. Published targets keep their ids."""
    if recording.status not in RESETTABLE:
        raise InvalidTransitionError(
            f"recording {recording.id} is {recording.status}; only FAILED, SKIPPED or UPLOADED can be reset"
        )
    if recording.archived_at is not None:
        raise InvalidTransitionError(f"recording {recording.id} is archived; restore it before a reset")
    if in_flight:
        raise InvalidTransitionError(f"recording {recording.id} has a run in flight; reset refused")
    before = recording.status
    recording.status = RecordingStatus.INITIALIZED
    recording.failed = False
    recording.failed_at_stage = None
    recording.error_message = None
    recording.skip_reason = None
    recording.review_reason = None
    recording.review_held_at = None
    recording.updated_at = utcnow()
    flush_versioned(session, recording.id)
    audit.record(
        session, actor, "recording.reset", "recording", recording.id, user_id=recording.user_id,
        details={"before": before.value, "after": RecordingStatus.INITIALIZED.value},
    )


def stages_of(session: Session, recording_ids: Sequence[str]) -> list[ProcessingStage]:
    return list(
        session.scalars(
            select(ProcessingStage)
            .where(ProcessingStage.recording_id.in_(recording_ids))
            .order_by(ProcessingStage.id)
        )
    )
