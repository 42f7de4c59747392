"""Removing and re-adding recordings' dynamic partitions: crash-safe, in request order, within a time budget.

Deleting or archiving a recording leaves a `delete`/`archive` run request, restoring one a `restore`
request (`leap_core.launcher.PARTITION_ONLY`); the launcher sensor applies them to Dagster's instance.
A request is marked finished only after Dagster has applied its change (`apply` first, `mark_applied`
after), never before: both of Dagster's calls are idempotent (removing a missing key and adding an
existing one do nothing), so a process killed between the two repeats the change on the next tick,
while the other order would lose it for good. The core never imports Dagster: the sensor passes the
two instance calls in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leap_core.db.models import Recording, RunRequest
from leap_core.db.types import utcnow
from leap_core.launcher import PARTITION_ONLY, RESTORE

PARTITION_CHANGES_PER_TICK = 500
"""At most this many pending changes a launcher tick reads. What it applies is bounded by time
(`Settings.launcher_partition_budget_s`), since Dagster removes a partition one key at a time: 5.7 ms a
key idle, 68 ms loaded (bench/README.md), so 500 removals would be 3-34 s of one tick."""


@dataclass(frozen=True)
class PartitionChange:
    request_id: int
    partition_key: str
    adds: bool
    """True for a restore (the key comes back), False for a delete or an archive (the key goes)."""


def pending(session: Session, limit: int | None = PARTITION_CHANGES_PER_TICK) -> list[PartitionChange]:
    """The oldest `limit` pending partition changes (None: all), removals and re-additions in one order.

    One order, not two lists: a recording archived and then restored before a tick must end with its
    partition, which only applying the two requests in the order they were made guarantees.
    """
    rows = session.execute(
        select(RunRequest.id, Recording.partition_key, RunRequest.first_stage)
        .join(Recording, Recording.id == RunRequest.recording_id)
        .where(RunRequest.status == "pending", RunRequest.first_stage.in_(PARTITION_ONLY))
        .order_by(RunRequest.id)
        .limit(limit)
    ).all()
    return [PartitionChange(request_id, key, kind == RESTORE) for request_id, key, kind in rows]


def apply(
    changes: Sequence[PartitionChange],
    add: Callable[[list[str]], None],
    remove: Callable[[str], None],
    budget_s: float,
) -> list[int]:
    """Apply `changes` in order until `budget_s` has passed; returns the request ids applied.

    A run of consecutive restores is one bulk `add` (Dagster adds many keys in two statements); removals
    go one `remove` each, as Dagster has no bulk removal. The first change always goes, so every tick
    makes progress whatever the budget; no change starts once the budget is spent, and the rest wait,
    oldest first, for the next tick. Mark the returned ids with `mark_applied` only after this returns.
    """
    began = time.monotonic()
    applied: list[int] = []
    for run in _runs(changes):
        for batch in ([run] if run[0].adds else [[change] for change in run]):
            if applied and time.monotonic() - began >= budget_s:
                return applied
            if batch[0].adds:
                add([change.partition_key for change in batch])
            else:
                remove(batch[0].partition_key)
            applied += [change.request_id for change in batch]
    return applied


def _runs(changes: Sequence[PartitionChange]) -> Iterator[list[PartitionChange]]:
    """Consecutive changes of the same direction, in order."""
    for _, run in groupby(changes, key=lambda change: change.adds):
        yield list(run)


def mark_applied(session: Session, request_ids: Iterable[int]) -> None:
    """Finish the requests whose change Dagster has applied (see the module docstring for why after)."""
    ids = list(request_ids)
    if ids:
        session.execute(update(RunRequest).where(RunRequest.id.in_(ids), RunRequest.status == "pending")
                        .values(status="finished", finished_at=utcnow()))
