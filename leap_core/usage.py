"""Usage per calendar month (UTC period YYYYMM) and the quota checks that consume it.

Exactness under concurrency comes from the database, never from a read followed by a write: on
PostgreSQL every usage writer first takes the user's row with `FOR NO KEY UPDATE` (it blocks only
other usage writers of that user and edits of the user row, not inserts that reference it), and the
reservation itself is one conditional `UPDATE … WHERE recordings_count < :limit … RETURNING`. SQLite
serializes writers on its database lock, which the period upsert takes first.

`storage_bytes` of a period is the storage in use as of that period: a new period's row starts from
the previous one's value, so the latest row is the current total and the history shows its growth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from leap_core.audit import SYSTEM, Actor
from leap_core.db.conflicts import insert_or_skip
from leap_core.db.models import QuotaUsage, User
from leap_core.errors import NotFoundError, QuotaExceededError, ValidationError
from leap_core.notifications import notify, storage_overage
from leap_core.notifications.events import quota_refused
from leap_core.notifications.quota import notify_quota_levels
from leap_core.quotas import GIB, EffectiveQuotas, effective_quotas, refuse

GB = GIB  # storage GB are GiB (DESIGN.md)


def period_of(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m")


@dataclass(frozen=True)
class Usage:
    period: str
    recordings_count: int
    storage_bytes: int
    transcription_seconds: float

    @property
    def storage_gb(self) -> float:
        return self.storage_bytes / GB

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "storage_gb": round(self.storage_gb, 6)}


def lock_user(session: Session, user_id: str) -> None:
    """Serialize this user's usage writers until the caller commits (PostgreSQL; SQLite already does).

    Callers that count rows themselves before a quota check (automation jobs) call this first, so a
    concurrent creation waits and then counts the committed result.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    if session.scalar(select(User.id).where(User.id == user_id).with_for_update(key_share=True)) is None:
        raise NotFoundError(f"user not found: {user_id}")


def _open_period(session: Session, user_id: str, period: str) -> None:
    """Make sure the period's row exists, carrying storage over from the latest earlier period."""
    carried = (
        select(QuotaUsage.storage_bytes)
        .where(QuotaUsage.user_id == user_id, QuotaUsage.period < period)
        .order_by(QuotaUsage.period.desc())
        .limit(1)
        .scalar_subquery()
    )
    session.execute(
        insert_or_skip(session, QuotaUsage, ["user_id", "period"])
        .values(user_id=user_id, period=period, recordings_count=0, storage_bytes=func.coalesce(carried, 0),
                transcription_seconds=0.0)
    )


def _writable_period(session: Session, user_id: str) -> str:
    period = period_of()
    lock_user(session, user_id)
    _open_period(session, user_id, period)
    return period


def usage_of(session: Session, user_id: str, period: str | None = None) -> Usage:
    """The period's usage (this month by default); a month with no activity still shows storage in use."""
    if period is not None and not (len(period) == 6 and period.isdigit() and 1 <= int(period[4:]) <= 12):
        raise ValidationError(f"a usage period is YYYYMM (e.g. 202612), not {period[:20]!r}")
    wanted = period or period_of()
    row = session.scalar(
        select(QuotaUsage)
        .where(QuotaUsage.user_id == user_id, QuotaUsage.period <= wanted)
        .order_by(QuotaUsage.period.desc())
        .limit(1)
    )
    if row is None:
        return Usage(wanted, 0, 0, 0.0)
    if row.period != wanted:
        return Usage(wanted, 0, row.storage_bytes, 0.0)
    return Usage(wanted, row.recordings_count, row.storage_bytes, row.transcription_seconds)


def usage_history(session: Session, user_id: str) -> list[Usage]:
    rows = session.scalars(select(QuotaUsage).where(QuotaUsage.user_id == user_id).order_by(QuotaUsage.period))
    return [Usage(r.period, r.recordings_count, r.storage_bytes, r.transcription_seconds) for r in rows]


def reserve_recording(
    session: Session, user_id: str, size_bytes: int, quotas: EffectiveQuotas, *, actor: Actor = SYSTEM
) -> Usage:
    """Count one more recording this month and its bytes, or refuse with QuotaExceededError (audited).

    The limits are conditions of the UPDATE itself, so fifty concurrent registrations against a limit
    of ten leave exactly ten counted: the others' UPDATE matches no row once the tenth has committed.
    """
    period = _writable_period(session, user_id)
    conditions = [QuotaUsage.user_id == user_id, QuotaUsage.period == period]
    if quotas.max_recordings_per_month is not None:
        conditions.append(QuotaUsage.recordings_count < quotas.max_recordings_per_month)
    max_bytes = quotas.max_storage_bytes
    if max_bytes is not None:
        conditions.append(QuotaUsage.storage_bytes + size_bytes <= max_bytes)
    row = session.execute(
        update(QuotaUsage)
        .where(*conditions)
        .values(recordings_count=QuotaUsage.recordings_count + 1, storage_bytes=QuotaUsage.storage_bytes + size_bytes)
        .returning(QuotaUsage.recordings_count, QuotaUsage.storage_bytes, QuotaUsage.transcription_seconds)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        raise refuse(session, actor, user_id, _refusal(usage_of(session, user_id, period), size_bytes, quotas))
    usage = Usage(period, row.recordings_count, row.storage_bytes, row.transcription_seconds)
    notify_quota_levels(session, user_id, period, quotas, usage.recordings_count, usage.storage_gb)
    return usage


def release_recording(session: Session, user_id: str, reservation: Usage, size_bytes: int) -> None:
    """Undo `reserve_recording` in the same transaction (which still holds the usage lock): the file turned
    out to be registered already, by a webhook or sync that won the race, so nothing new was counted."""
    session.execute(
        update(QuotaUsage)
        .where(QuotaUsage.user_id == user_id, QuotaUsage.period == reservation.period)
        .values(recordings_count=QuotaUsage.recordings_count - 1, storage_bytes=QuotaUsage.storage_bytes - size_bytes)
        .execution_options(synchronize_session=False)
    )


def _refusal(current: Usage, size_bytes: int, quotas: EffectiveQuotas) -> QuotaExceededError:
    """Which limit stopped the reservation, said with the numbers a user can act on."""
    limit = quotas.max_recordings_per_month
    if limit is not None and current.recordings_count >= limit:
        return QuotaExceededError(
            "max_recordings_per_month", limit, current.recordings_count,
            f"monthly recording quota reached: {current.recordings_count} of {limit} recordings "
            f"registered in {current.period}",
        )
    return QuotaExceededError(
        "max_storage_gb", quotas.max_storage_gb or 0.0, current.storage_gb,
        f"storage quota exceeded: {current.storage_gb:.3g} GB used of {quotas.max_storage_gb:g} GB, "
        f"and this recording needs {size_bytes / GB:.3g} GB more",
    )


def release_storage(session: Session, user_id: str, size_bytes: int) -> Usage:
    """Deleting a recording gives its bytes back (never below zero, should sizes have drifted)."""
    return _adjust(session, user_id, storage_bytes=case(
        (QuotaUsage.storage_bytes > size_bytes, QuotaUsage.storage_bytes - size_bytes), else_=0))


def add_storage(session: Session, user_id: str, size_bytes: int) -> Usage:
    """Bytes already written (a download larger than announced, derived files): counted, not refused.

    Storage can therefore grow past the limit checked at registration; the owner is told (once a day).
    """
    current = _adjust(session, user_id, storage_bytes=QuotaUsage.storage_bytes + size_bytes)
    limit = effective_quotas(session, user_id).max_storage_gb
    if size_bytes > 0 and limit is not None and current.storage_gb > limit:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        notify(session, user_id, storage_overage(user_id, current.storage_gb, limit, day))
    return current


def add_transcription_seconds(session: Session, user_id: str, seconds: float) -> Usage:
    return _adjust(session, user_id, transcription_seconds=QuotaUsage.transcription_seconds + seconds)


def _adjust(session: Session, user_id: str, **values: Any) -> Usage:
    period = _writable_period(session, user_id)
    row = session.execute(
        update(QuotaUsage)
        .where(QuotaUsage.user_id == user_id, QuotaUsage.period == period)
        .values(**values)
        .returning(QuotaUsage.recordings_count, QuotaUsage.storage_bytes, QuotaUsage.transcription_seconds)
        .execution_options(synchronize_session=False)
    ).one()
    return Usage(period, row.recordings_count, row.storage_bytes, row.transcription_seconds)


def record_refusal(session: Session, actor: Actor, user_id: str, error: QuotaExceededError) -> None:
    """Audit a refusal and tell the owner, in a unit of work of its own.

    For refusals whose caller's transaction rolls back with the error (an API create that raised): the
    record and the notice must outlive it, or the refusal would leave no trace.
    """
    refuse(session, actor, user_id, error)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    notify(session, user_id, quota_refused(user_id, error.quota, error.limit, error.current, str(error), day))


def check_automation_job_count(
    session: Session, user_id: str, current: int, *, quotas: EffectiveQuotas | None = None,
    actor: Actor = SYSTEM,
) -> None:
    """Refuse one more automation job when `current` (the user's jobs now) is at the limit.

    Exact only if `current` was counted after `lock_user(session, user_id)` in the same transaction.
    """
    limit = (quotas or effective_quotas(session, user_id)).max_automation_jobs
    if limit is not None and current >= limit:
        raise refuse(session, actor, user_id, QuotaExceededError(
            "max_automation_jobs", limit, current, f"automation job quota reached: {current} of {limit} jobs"))


def check_automation_interval(
    session: Session, user_id: str, interval_hours: float, *, quotas: EffectiveQuotas | None = None,
    actor: Actor = SYSTEM,
) -> None:
    """Refuse a schedule that would run more often than the user's plan allows."""
    minimum = (quotas or effective_quotas(session, user_id)).min_automation_interval_hours
    if minimum is not None and interval_hours < minimum:
        raise refuse(session, actor, user_id, QuotaExceededError(
            "min_automation_interval_hours", minimum, interval_hours,
            f"automation runs every {interval_hours:g} h, more often than the minimum interval of {minimum:g} h"))
