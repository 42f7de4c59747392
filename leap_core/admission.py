"""Runs LEAP did not start (a Dagster UI materialisation, a backfill): attributed, counted, or queued.

The launcher is the only code that starts recording runs, but Dagster lets an operator start one too.
Such a run carries no `leap/request` tag, so without this module it would count against no one's
`max_concurrent_tasks` and never appear in the owner's task list. Its first stage therefore asks
`admit_run` before doing any work: within the owner's limit the run becomes one of the owner's tasks
(a `launched` run request holding its run id, released like any other when the run ends); over the
limit it does no work, and the same work is queued as a pending request the launcher starts when a
slot frees (ADR 0017).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core import usage
from leap_core.config import QuotaDefaults
from leap_core.db.models import Recording, RunRequest
from leap_core.db.types import utcnow
from leap_core.errors import NotFoundError
from leap_core.launcher import active_counts
from leap_core.quotas import effective_quotas_for

REASON = "dagster"
"""The reason of requests made for runs started in Dagster itself: how the task list tells them apart."""


@dataclass(frozen=True)
class Admission:
    request_id: int
    user_id: str
    admitted: bool
    message: str | None = None


def requested_by(run_id: str) -> str:
    """Who asked, on the request: the run itself, so every step of the run finds the same decision."""
    return f"dagster run {run_id}"


def admit_run(
    session: Session, run_id: str, recording_id: str, first_stage: str, defaults: QuotaDefaults
) -> Admission:
    """Admit a run started outside the launcher against its recording's owner, exactly once per run.

    Under the owner's usage lock (PostgreSQL), so two such runs, or a run and a launcher tick, cannot
    both take the owner's last slot; every later step of the same run reads the first step's decision.
    """
    recording = session.get(Recording, recording_id)
    if recording is None or recording.deleted_at is not None:
        raise NotFoundError(f"recording not found: {recording_id}")
    usage.lock_user(session, recording.user_id)
    earlier = session.scalar(select(RunRequest).where(RunRequest.requested_by == requested_by(run_id)))
    if earlier is not None:
        return _decision(earlier, run_id)
    cap = effective_quotas_for(session, [recording.user_id], defaults)[recording.user_id].max_concurrent_tasks
    running = active_counts(session)[recording.user_id]
    admitted = cap is None or running < cap
    request = RunRequest(
        recording_id=recording.id, user_id=recording.user_id, first_stage=first_stage, reason=REASON,
        requested_by=requested_by(run_id), template_id=recording.template_id,
        status="launched" if admitted else "pending", run_id=run_id if admitted else None,
        launched_at=utcnow() if admitted else None,
    )
    session.add(request)
    session.flush()
    return _decision(request, run_id, running=running, cap=cap)


def _decision(request: RunRequest, run_id: str, *, running: int | None = None, cap: int | None = None) -> Admission:
    if request.run_id == run_id:
        return Admission(request.id, request.user_id, True)
    limit = f": {running} of {cap} allowed at once are running" if cap is not None else ""
    return Admission(request.id, request.user_id, False, (
        f"this run did no work: the recording's owner is at max_concurrent_tasks{limit}; the same work is "
        f"queued as LEAP task {request.id} and starts when a slot frees (`leap tasks show {request.id}`)"))
