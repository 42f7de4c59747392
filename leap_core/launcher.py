"""The launcher's half in the core: which pending run requests may start now, and their bookkeeping.

Dagster's launcher sensor asks `next_batch` for requests, launches them, and reports back with
`mark_launched`; it also reports the final status of runs so their concurrency slots free up. Requests
over a user's `max_concurrent_tasks` stay pending and are taken, in order, on a later tick.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
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
"""Requests that change the recording's dynamic partition and start no run."""


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
    """Oldest pending requests first, skipping (not dropping) those of users at their concurrency limit."""
    rows = session.execute(
        select(RunRequest, Recording.partition_key)
        .join(Recording, Recording.id == RunRequest.recording_id)
        .where(RunRequest.status == "pending", RunRequest.first_stage.not_in(PARTITION_ONLY),
               Recording.deleted_at.is_(None))
        .order_by(RunRequest.id)
        .limit(limit * 10)
    ).all()
    if not rows:
        return []
    active = active_counts(session)
    quotas = effective_quotas_for(session, sorted({r.user_id for r, _ in rows}), defaults)
    batch: list[LaunchItem] = []
    for request, key in rows:
        cap = quotas[request.user_id].max_concurrent_tasks
        if cap is not None and active[request.user_id] >= cap:
            continue
        active[request.user_id] += 1
        batch.append(_item(request, key))
        if len(batch) >= limit:
            break
    return batch


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


def pending_deletions(session: Session) -> list[tuple[int, str]]:
    """Deleted or archived recordings whose dynamic partition the launcher still has to remove."""
    return _pending_partition_changes(session, (DELETE, ARCHIVE))


def pending_restores(session: Session) -> list[tuple[int, str]]:
    """Restored recordings whose dynamic partition the launcher still has to add back."""
    return _pending_partition_changes(session, (RESTORE,))


def _pending_partition_changes(session: Session, kinds: tuple[str, ...]) -> list[tuple[int, str]]:
    rows = session.execute(
        select(RunRequest.id, Recording.partition_key)
        .join(Recording, Recording.id == RunRequest.recording_id)
        .where(RunRequest.status == "pending", RunRequest.first_stage.in_(kinds))
        .order_by(RunRequest.id)
    ).all()
    return [(request_id, key) for request_id, key in rows]


def mark_done(session: Session, request_ids: Iterable[int]) -> None:
    ids = list(request_ids)
    if ids:
        session.execute(update(RunRequest).where(RunRequest.id.in_(ids))
                        .values(status="finished", finished_at=utcnow()))


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
