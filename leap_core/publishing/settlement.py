"""A recording's state while it publishes is derived from its targets, never remembered on its own.

Every change of a target (taken, uploaded, failed, parked, re-requested, retried by hand) calls
`settle` in the same transaction, so the recording can never disagree with its targets: all targets
UPLOADED → UPLOADED; one still to do in this run → UPLOADING; otherwise FAILED at the target that
needs a person (its own reason), or — when every failed target is only parked by a platform — FAILED
with "waiting for <platform> quota until T", which the launcher lifts by itself. The reason is
rewritten each time, so a target fixed by a retry never leaves its stale message on the recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core import recordings
from leap_core.db.models import OutputTarget, Recording
from leap_core.stages import upload_stage
from leap_core.states import RecordingStatus, TargetStatus

R = RecordingStatus
T = TargetStatus
PUBLISHING: frozenset[RecordingStatus] = frozenset({R.TRANSCRIBED, R.UPLOADING})
"""A run is (about to be) publishing: a target not yet tried is still to do, not stranded."""


@dataclass(frozen=True)
class Verdict:
    status: RecordingStatus
    stage: str | None = None
    reason: str | None = None


def parked(target: OutputTarget) -> bool:
    """FAILED only because the platform asked LEAP to wait; the launcher re-tries it when due."""
    return target.status is T.FAILED and target.retry_after is not None


def waiting_reason(platform: str, until: datetime, message: str | None) -> str:
    why = f" ({message})" if message else ""
    return (f"waiting for {platform} quota until {until.isoformat(timespec='minutes')}; "
            f"LEAP retries by itself{why}")


def verdict(status: RecordingStatus, targets: Sequence[OutputTarget]) -> Verdict | None:
    """What the targets say the recording is; None when they say nothing (no targets, none tried yet)."""
    if not targets:
        return None
    if all(t.status is T.UPLOADED for t in targets):
        return Verdict(R.UPLOADED)
    if any(t.status is T.UPLOADING or (status in PUBLISHING and t.status is T.NOT_UPLOADED) for t in targets):
        return Verdict(R.UPLOADING)
    failed = [t for t in targets if t.status is T.FAILED]
    if not failed:
        return None
    blocking = [t for t in failed if not parked(t)]
    if blocking:
        chosen = blocking[0]
        return Verdict(R.FAILED, upload_stage(chosen.platform).name, chosen.error_message or "upload failed")
    chosen = min(failed, key=lambda t: t.retry_after)  # type: ignore[arg-type, return-value]
    assert chosen.retry_after is not None
    return Verdict(R.FAILED, upload_stage(chosen.platform).name,
                   waiting_reason(chosen.platform, chosen.retry_after, chosen.error_message))


def failed_publishing(recording: Recording) -> bool:
    """FAILED at one of its targets (not at a processing stage, which targets cannot lift)."""
    return recording.status is R.FAILED and (recording.failed_at_stage or "").startswith("upload:")


def settle(session: Session, recording: Recording, *, only_uploaded: bool = False) -> None:
    """Move the recording to what its targets say, in the caller's transaction.

    `only_uploaded` is for a run that merely found a target already published: it may finish the
    recording but must not fail it, because a sibling target of the same run may not have started yet.
    """
    session.refresh(recording, with_for_update=True)  # concurrent target runners settle one after the other
    targets = session.scalars(select(OutputTarget).where(OutputTarget.recording_id == recording.id)
                              .order_by(OutputTarget.platform)).all()
    found = verdict(recording.status, targets)
    movable = recording.status in PUBLISHING or failed_publishing(recording)
    if found is None or not movable or (only_uploaded and found.status is not R.UPLOADED):
        return
    if found.status is R.FAILED:
        if recording.status is R.TRANSCRIBED:
            return  # the run's upload assets have not started: they take the failed targets again
        if recording.status is not R.FAILED:
            recordings.transition(session, recording, R.FAILED)
        recording.failed, recording.failed_at_stage, recording.error_message = True, found.stage, found.reason
        recordings.flush_versioned(session, recording.id)
        return
    if (found.status is R.UPLOADING and recording.status is R.TRANSCRIBED
            and not any(t.status is T.UPLOADING for t in targets)):
        return
    if recording.status is not R.UPLOADING and recording.status is not found.status:
        recordings.transition(session, recording, R.UPLOADING)
        recording.failed, recording.error_message = False, None
    if found.status is R.UPLOADED:
        recordings.transition(session, recording, R.UPLOADED)
