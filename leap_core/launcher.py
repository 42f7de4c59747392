"""The launcher's half in the core: which pending run requests may start now, and their bookkeeping.

Dagster's launcher sensor asks `next_batch` for requests, launches them, and reports back with
`mark_launched`; it also reports the final status of runs so their concurrency slots free up. Requests
over a user's `max_concurrent_tasks` stay pending and are taken, in order, on a later tick; users with
free slots take turns (`next_batch`), however long anyone's queue is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.orm import Session

from leap_core.config import QuotaDefaults
from leap_core.db.models import Recording, RunRequest
from leap_core.db.types import utcnow
from leap_core.quotas import effective_quotas_for


@dataclass(frozen=True)
class LaunchItem:
    request_id: int
    recording_id: str
    user_id: str
    partition_key: str
    first_stage: str
    reason: str
    template_id: str | None
    automation_job_id: str | None

    @property
    def run_key(self) -> str:
        return f"run-request-{self.request_id}"


ACTIVE = ("submitted", "launched")
DELETE = "delete"
ARCHIVE = "archive"
RESTORE = "restore"
PARTITION_ONLY = (DELETE, ARCHIVE, RESTORE)
"""Requests that change the recording's dynamic partition and start no run (`leap_core.partition_changes`)."""


def _item(request: RunRequest, partition_key: str) -> LaunchItem:
    return LaunchItem(request.id, request.recording_id, request.user_id, partition_key, request.first_stage,
                      request.reason, request.template_id, request.automation_job_id)


def active_counts(session: Session) -> Counter[str]:
    """Requests handed to Dagster and not yet ended, per user: what max_concurrent_tasks limits."""
    rows = session.execute(
        select(RunRequest.user_id, func.count())
        .where(RunRequest.status.in_(ACTIVE))
        .group_by(RunRequest.user_id)
    ).all()
    return Counter({user_id: count for user_id, count in rows})


def launched_run_ids(session: Session) -> list[str]:
    return [r for r in session.scalars(select(RunRequest.run_id).where(RunRequest.status == "launched")) if r]


def next_batch(session: Session, defaults: QuotaDefaults, limit: int) -> list[LaunchItem]:
    """Up to `limit` pending requests, round-robin over the users with a free concurrency slot.

    Each user's requests keep their order; users take turns (everyone's first request, then everyone's
    second…), so a user with thousands queued, or at their limit, never holds back another user's one
    request. Users at their limit are left out in SQL, so their queue costs nothing per tick.
    """
    allowance = free_slots(session, defaults, limit)
    if not allowance:
        return []
    return [_item(request, key) for request, key in _round_robin(session, allowance, limit)]


def _pending(*columns: Any) -> Select[Any]:
    """Requests the launcher may start: pending work (not partition removal) of recordings not deleted."""
    return (select(*columns).join(Recording, Recording.id == RunRequest.recording_id)
            .where(RunRequest.status == "pending", RunRequest.first_stage.not_in(PARTITION_ONLY),
                   Recording.deleted_at.is_(None)))


def free_slots(session: Session, defaults: QuotaDefaults, limit: int) -> dict[str, int]:
    """Users with pending work and how many more runs each may start now (at most `limit`)."""
    waiting = sorted(session.scalars(_pending(RunRequest.user_id).distinct()))
    if not waiting:
        return {}
    active = active_counts(session)
    quotas = effective_quotas_for(session, waiting, defaults)
    free = {}
    for user_id in waiting:
        cap = quotas[user_id].max_concurrent_tasks
        slots = limit if cap is None else min(limit, cap - active[user_id])
        if slots > 0:
            free[user_id] = slots
    return free


def _round_robin(session: Session, allowance: Mapping[str, int], limit: int) -> list[tuple[RunRequest, str]]:
    """Each user's first `allowance[user]` pending requests, ranked by a window function and taken by rank.

    Ordering by (rank, id) is the round-robin: every user's 1st request, oldest first, then every 2nd...
    Works alike on PostgreSQL and SQLite (window functions since 3.25).
    """
    ranked = _pending(
        RunRequest.id, RunRequest.user_id,
        func.row_number().over(partition_by=RunRequest.user_id, order_by=RunRequest.id).label("rank"),
    ).where(RunRequest.user_id.in_(list(allowance))).subquery()
    share = case(dict(allowance), value=ranked.c.user_id, else_=0)
    rows = session.execute(
        select(RunRequest, Recording.partition_key)
        .join(ranked, ranked.c.id == RunRequest.id)
        .join(Recording, Recording.id == RunRequest.recording_id)
        .where(ranked.c.rank <= share)
        .order_by(ranked.c.rank, RunRequest.id)
        .limit(limit)
    ).all()
    return [(request, key) for request, key in rows]


def submitted_requests(session: Session) -> list[int]:
    return list(session.scalars(select(RunRequest.id).where(RunRequest.status == "submitted")))


def claim(session: Session, batch: list[LaunchItem]) -> list[LaunchItem]:
    """Mark requests submitted and keep only those this caller moved: two ticks never take the same one.

    Submitted requests are handed to Dagster under run_key `run-request-<id>`, which Dagster itself
    refuses to launch twice.
    """
    if not batch:
        return []
    claimed = set(session.scalars(
        update(RunRequest)
        .where(RunRequest.id.in_([item.request_id for item in batch]), RunRequest.status == "pending")
        .values(status="submitted", launched_at=utcnow())
        .returning(RunRequest.id)
    ))
    return [item for item in batch if item.request_id in claimed]


def unconfirmed(session: Session, older_than: timedelta) -> list[LaunchItem]:
    """Submitted requests whose run never appeared (the tick or daemon died after claiming them).

    Re-sending them is safe: the run key is the same, so a run that did start is not started again.
    """
    rows = session.execute(
        select(RunRequest, Recording.partition_key)
        .join(Recording, Recording.id == RunRequest.recording_id)
        .where(RunRequest.status == "submitted", RunRequest.launched_at < utcnow() - older_than)
    ).all()
    return [_item(request, key) for request, key in rows]


def mark_launched(session: Session, launched: Mapping[int, str]) -> None:
    """Record each submitted request's run id once Dagster shows the run."""
    for request_id, run_id in launched.items():
        session.execute(
            update(RunRequest)
            .where(RunRequest.id == request_id, RunRequest.status == "submitted")
            .values(status="launched", run_id=run_id)
        )


def mark_finished(session: Session, run_ids: Iterable[str]) -> None:
    ids = list(run_ids)
    if ids:
        session.execute(
            update(RunRequest)
            .where(RunRequest.run_id.in_(ids), RunRequest.status == "launched")
            .values(status="finished", finished_at=utcnow())
        )
