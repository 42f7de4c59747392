"""The reconciler: no recording is left stranded between a run that ended and a state that says so.

Every recording that is not terminal is, after a grace period, one of: owned by a live run, waiting
in the launcher's queue, resting where its last run left it on purpose (a successful run that
materialised only some stages, or a template that does not process on arrival), or FAILED at the stage
it stopped before, with a reason a user can act on and `leap recordings retry` can continue from.
Runs are looked up through `RunLookup` (the Dagster layer's answer), so this module knows no Dagster.

A tick reads one page of candidates ordered by (updated_at, id) and returns where the next page
starts: the cost of a tick is the page size, never the number of recordings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from leap_core import audit, recordings
from leap_core.attempts import QUEUED
from leap_core.audit import Actor
from leap_core.db.models import ProcessingStage, Recording, RunRequest
from leap_core.db.types import utcnow
from leap_core.launcher import PARTITION_ONLY
from leap_core.notifications import notify, stage_failed
from leap_core.stage_history import RESTING_NEXT, blame_stage
from leap_core.states import IN_FLIGHT, RecordingStatus

R = RecordingStatus
WATCHED: frozenset[RecordingStatus] = IN_FLIGHT | frozenset(RESTING_NEXT) | {R.TRANSCRIBED}
QUEUED_REQUESTS = ("pending", "submitted")
ACTOR = Actor("reconciler", origin="sensor")
Cursor = tuple[datetime, str]


@dataclass(frozen=True)
class RunState:
    """What the orchestrator says of one run."""

    live: bool
    status: str
    message: str | None = None


class RunLookup(Protocol):
    def __call__(self, run_ids: Sequence[str]) -> Mapping[str, RunState]:
        """The state of each run id it knows; an unknown id is a run that never existed."""


@dataclass(frozen=True)
class Stranded:
    recording_id: str
    stage: str
    reason: str


def reconcile(
    session: Session, lookup: RunLookup, grace: timedelta, limit: int, after: Cursor | None = None
) -> tuple[list[Stranded], Cursor | None]:
    """Fail the stranded recordings of one page; returns them and the next page's cursor (None: start over)."""
    page = _candidates(session, utcnow() - grace, limit, after)
    if not page:
        return [], None
    last = page[-1]
    after_page = (last.updated_at, last.id) if len(page) == limit else None  # read before failing moves it
    latest = _latest_requests(session, [r.id for r in page])
    runs = lookup(sorted({run for r in page if (run := _run_of(r, latest.get(r.id)))}))
    stranded = []
    for recording in page:
        why = _why_stranded(recording, latest.get(recording.id), runs)
        if why is not None:
            stage = blame_stage(session, recording)
            fail_stranded(session, recording, stage, why)
            stranded.append(Stranded(recording.id, stage, why))
    return stranded, after_page


def _candidates(session: Session, before: datetime, limit: int, after: Cursor | None) -> list[Recording]:
    query = (select(Recording)
             .where(Recording.status.in_(WATCHED), Recording.deleted_at.is_(None), Recording.archived_at.is_(None),
                    Recording.updated_at < before)
             .order_by(Recording.updated_at, Recording.id).limit(limit))
    if after is not None:
        query = query.where(tuple_(Recording.updated_at, Recording.id) > tuple_(*after))
    return list(session.scalars(query))


def _latest_requests(session: Session, recording_ids: Sequence[str]) -> dict[str, RunRequest]:
    """Each recording's newest pipeline request (partition-only requests start no run)."""
    newest = (select(func.max(RunRequest.id))
              .where(RunRequest.recording_id.in_(recording_ids), RunRequest.first_stage.not_in(PARTITION_ONLY))
              .group_by(RunRequest.recording_id))
    return {r.recording_id: r for r in session.scalars(select(RunRequest).where(RunRequest.id.in_(newest)))}


def _run_of(recording: Recording, request: RunRequest | None) -> str | None:
    """The run answerable for the recording now: the attempt's owner, else its newest request's run."""
    if recording.attempt_owner not in (None, QUEUED):
        return recording.attempt_owner
    return request.run_id if request is not None else None


def _why_stranded(recording: Recording, request: RunRequest | None, runs: Mapping[str, RunState]) -> str | None:
    """None when something will still move the recording (or it rests on purpose); else what happened."""
    run_id = _run_of(recording, request)
    state = runs.get(run_id) if run_id else None
    if state is not None and state.live:
        return None
    in_flight = recording.status in IN_FLIGHT
    owned_by_ended_run = in_flight and recording.attempt_owner not in (None, QUEUED)
    if request is not None and request.status in QUEUED_REQUESTS and not owned_by_ended_run:
        return None  # waiting in the launcher's queue
    if not in_flight and (request is None or (state is not None and state.status == "SUCCESS")):
        return None  # rests where a successful run (or the template) left it
    if run_id is None:
        return "no run was started for it (its request ended without one); retry to run it again"
    if state is None:
        return f"its run {run_id[:8]} never started; retry to run it again"
    said = f": {explain(state.message)}" if state.message else ""
    return f"its run {run_id[:8]} ended ({state.status.lower()}{said}) before the stage finished"


def explain(message: str) -> str:
    """Dagster's failure text, with the cause a user can act on first where we recognise it."""
    lowered = message.lower()
    if any(s in lowered for s in ("operationalerror", "could not connect", "connection refused",
                                  "server closed the connection", "terminating connection")):
        return "the database was unreachable; retry once it is back"
    first = message.strip().splitlines()[0] if message.strip() else message
    return first[:300]


def fail_in_flight(session: Session, recording: Recording, reason: str, actor: Actor) -> str:
    """FAILED at the stage the recording was in, its running stage rows closed; returns that stage."""
    stage = blame_stage(session, recording)
    _fail(session, recording, stage, reason, actor)
    return stage


def fail_stranded(session: Session, recording: Recording, stage: str, reason: str) -> None:
    """The reconciler's verdict, told to the owner as any stage failure is."""
    _fail(session, recording, stage, reason, ACTOR, reconciled=True)
    notify(session, recording.user_id,
           stage_failed(recording.id, recording.title, stage, reason, f"reconciled-{recording.version}"))


def _fail(session: Session, recording: Recording, stage: str, reason: str, actor: Actor,
          reconciled: bool = False) -> None:
    now = utcnow()
    for row in session.scalars(select(ProcessingStage).where(
            ProcessingStage.recording_id == recording.id, ProcessingStage.status == "running")):
        row.status, row.completed_at, row.error = "failed", now, reason
    recordings.fail(session, recording, stage, reason)
    audit.record(session, actor, "recording.fail", "recording", recording.id, user_id=recording.user_id,
                 details={"stage": stage, "error": reason, **({"reconciled": True} if reconciled else {})},
                 result="failure")
