"""One owner per attempt: only the run working on a recording's current attempt may move it.

A recording's `attempt_owner` is the id of the run that last entered one of its stages. A retry (by
hand, of failed uploads, or of a parked target) starts a new attempt and sets it to `queued` until
its run enters. Events of any other run — the failure sensor of a run the retry replaced, a late
stage exit of a worker that was presumed dead — are audited as `recording.late_event` and never
applied. None means the recording has not been entered since ownership was introduced (or only by
direct calls without a run id): every run may act on it, as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core import audit
from leap_core.audit import Actor
from leap_core.db.models import ProcessingStage, Recording
from leap_core.errors import ConcurrentModificationError
from leap_core.states import IN_FLIGHT

QUEUED = "queued"
"""A new attempt was requested (a retry); the first run to enter a stage takes it."""


def owns(recording: Recording, run_id: str | None) -> bool:
    """Whether `run_id` may move the recording: direct calls (no run id) always may."""
    return run_id is None or recording.attempt_owner in (None, run_id)


def claim(session: Session, recording: Recording, run_id: str | None) -> None:
    """Take the current attempt for `run_id` as it enters a stage.

    Refused while another run is working on the recording (in flight and owned by someone else), and a
    queued retry is taken only by a run that had not worked on the recording before it: the replaced
    run, carrying on to its next asset, must not steal the new attempt.
    """
    if run_id is None or recording.attempt_owner == run_id:
        return
    owner = recording.attempt_owner
    if recording.status in IN_FLIGHT and owner not in (None, QUEUED):
        raise ConcurrentModificationError(
            f"recording {recording.id} is being worked on by run {owner}; run {run_id} does not own its "
            "current attempt")
    if owner == QUEUED and _worked_on(session, recording.id, run_id):
        raise ConcurrentModificationError(
            f"recording {recording.id} was retried; run {run_id} belongs to the attempt the retry replaced")
    recording.attempt_owner = run_id


def _worked_on(session: Session, recording_id: str, run_id: str) -> bool:
    return session.scalar(select(ProcessingStage.id).where(
        ProcessingStage.recording_id == recording_id, ProcessingStage.run_id == run_id).limit(1)) is not None


def record_late_event(
    session: Session, recording: Recording, run_id: str | None, event: str, details: dict[str, Any]
) -> None:
    """Keep what an older run said, without acting on it."""
    audit.record(session, Actor("pipeline", origin="run", run_id=run_id), "recording.late_event", "recording",
                 recording.id, user_id=recording.user_id,
                 details={"event": event, "run_id": run_id, "owner": recording.attempt_owner, **details},
                 result="ignored")
