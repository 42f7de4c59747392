"""Statistics as pandas DataFrames, each built from exactly one SQL query.

Aggregation happens in the database (GROUP BY with conditional sums), so the admin's per-user table
costs one round trip whether there are ten recordings or a hundred thousand; pandas only adds derived
columns (GB, percentiles) to what came back. Date ranges filter on `recorded_at` (when the lecture
happened), half-open: `since <= recorded_at < until`. Deleted recordings are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, ColumnElement, Float, Select, case, cast, func, literal, select
from sqlalchemy.orm import Session

from leap_core.config import QuotaDefaults
from leap_core.db.models import (
    ProcessingStage,
    QuotaUsage,
    Recording,
    SubscriptionPlan,
    Template,
    User,
    UserSubscription,
)
from leap_core.quotas import QUOTA_NAMES, EffectiveQuotas, resolve
from leap_core.states import RecordingStatus
from leap_core.usage import GB

if TYPE_CHECKING:  # pandas is imported where a frame is built: keeps Dagster run-worker start-up fast
    import pandas as pd

COUNTED_OUTCOMES = (RecordingStatus.UPLOADED, RecordingStatus.FAILED, RecordingStatus.SKIPPED)


@dataclass(frozen=True)
class DateRange:
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self, column: Any) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.since is not None:
            found.append(column >= self.since)
        if self.until is not None:
            found.append(column < self.until)
        return found


ALL_TIME = DateRange()


@dataclass(frozen=True)
class UserStats:
    """One user's numbers: `totals` is a single row; the other two have a row per status / template."""

    totals: pd.DataFrame
    by_status: pd.DataFrame
    by_template: pd.DataFrame


def frame(session: Session, stmt: Select[*tuple[Any, ...]]) -> pd.DataFrame:
    """The one query behind a DataFrame; columns survive an empty result."""
    import pandas as pd
    result = session.execute(stmt)
    return pd.DataFrame.from_records(list(result.all()), columns=list(result.keys()))


def _measures() -> list[Any]:
    """The per-recording aggregates every summary shares, so totals and per-user rows always agree."""
    return [
        func.count(Recording.id).label("recordings"),
        *[cast(func.coalesce(func.sum(case((Recording.status == status, 1), else_=0)), 0), BigInteger)
          .label(status.value.lower()) for status in COUNTED_OUTCOMES],
        # the one charge per recording (its trimmed duration), as the transcription quota counts it
        cast(func.coalesce(func.sum(Recording.transcription_s), 0.0), Float)
        .label("transcription_seconds"),
        cast(func.coalesce(func.sum(Recording.storage_bytes), 0), BigInteger).label("storage_bytes"),
        func.min(Recording.recorded_at).label("first_recorded_at"),
        func.max(Recording.recorded_at).label("last_recorded_at"),
    ]


def _with_gb(df: pd.DataFrame) -> pd.DataFrame:
    df["storage_gb"] = (df["storage_bytes"].astype("int64") / GB).round(6)
    return df


def _live(period: DateRange) -> list[ColumnElement[bool]]:
    return [Recording.deleted_at.is_(None), *period.conditions(Recording.recorded_at)]


# one user -----------------------------------------------------------------------------------------
def user_totals(session: Session, user_id: str, period: DateRange = ALL_TIME) -> pd.DataFrame:
    stmt = select(*_measures()).where(Recording.user_id == user_id, *_live(period))
    return _with_gb(frame(session, stmt))


def user_by_status(session: Session, user_id: str, period: DateRange = ALL_TIME) -> pd.DataFrame:
    stmt = (
        select(Recording.status.label("status"), func.count(Recording.id).label("recordings"))
        .where(Recording.user_id == user_id, *_live(period))
        .group_by(Recording.status)
        .order_by(Recording.status)
    )
    df = frame(session, stmt)
    df["status"] = df["status"].map(str)
    return df


def user_by_template(session: Session, user_id: str, period: DateRange = ALL_TIME) -> pd.DataFrame:
    """Recordings with no template (or a deleted one) are grouped under "(none)"."""
    name = func.coalesce(Template.name, literal("(none)")).label("template")
    stmt = (
        select(name, func.count(Recording.id).label("recordings"))
        .outerjoin(Template, Template.id == Recording.template_id)
        .where(Recording.user_id == user_id, *_live(period))
        .group_by(name)
        .order_by(name)
    )
    return frame(session, stmt)


def user_stats(session: Session, user_id: str, period: DateRange = ALL_TIME) -> UserStats:
    return UserStats(user_totals(session, user_id, period), user_by_status(session, user_id, period),
                     user_by_template(session, user_id, period))


# platform -----------------------------------------------------------------------------------------
def platform_overview(session: Session, period: DateRange = ALL_TIME) -> pd.DataFrame:
    """One row: users, users with recordings in the range, and the shared measures over everyone."""
    users = select(func.count(User.id)).scalar_subquery().label("users")
    active = func.count(func.distinct(Recording.user_id)).label("active_users")
    stmt = select(users, active, *_measures()).where(*_live(period))
    return _with_gb(frame(session, stmt))


def per_user(session: Session, period: DateRange = ALL_TIME) -> pd.DataFrame:
    """A row per user, users without recordings included (with zeros), sorted by slug."""
    joined = Recording.user_id == User.id
    for condition in _live(period):
        joined = joined & condition
    stmt = (
        select(User.id.label("user_id"), User.slug.label("user"), SubscriptionPlan.name.label("plan"),
               *_measures())
        .select_from(User)
        .outerjoin(Recording, joined)
        .outerjoin(UserSubscription, UserSubscription.user_id == User.id)
        .outerjoin(SubscriptionPlan, SubscriptionPlan.id == UserSubscription.plan_id)
        .group_by(User.id, User.slug, SubscriptionPlan.name)
        .order_by(User.slug)
    )
    return _with_gb(frame(session, stmt))


def quota_usage(
    session: Session, defaults: QuotaDefaults, *, user_id: str | None = None,
    first_period: str | None = None, last_period: str | None = None,
) -> pd.DataFrame:
    """Usage per user and period beside the user's effective limits (the current ones, for every period)."""
    stmt = (
        select(User.slug.label("user"), QuotaUsage.period, QuotaUsage.recordings_count,
               QuotaUsage.storage_bytes, QuotaUsage.transcription_seconds, SubscriptionPlan, UserSubscription)
        .join(User, User.id == QuotaUsage.user_id)
        .outerjoin(UserSubscription, UserSubscription.user_id == QuotaUsage.user_id)
        .outerjoin(SubscriptionPlan, SubscriptionPlan.id == UserSubscription.plan_id)
        .order_by(User.slug, QuotaUsage.period)
    )
    if user_id is not None:
        stmt = stmt.where(QuotaUsage.user_id == user_id)
    if first_period is not None:
        stmt = stmt.where(QuotaUsage.period >= first_period)
    if last_period is not None:
        stmt = stmt.where(QuotaUsage.period <= last_period)
    import pandas as pd

    rows = session.execute(stmt).all()
    records = [_usage_record(row, resolve(row.SubscriptionPlan, row.UserSubscription, defaults)) for row in rows]
    columns = ["user", "period", "recordings_count", "storage_bytes", "transcription_seconds", "plan",
               *QUOTA_NAMES]
    return _with_gb(pd.DataFrame.from_records(records, columns=columns))


def _usage_record(row: Any, limits: EffectiveQuotas) -> dict[str, Any]:
    return {"user": row.user, "period": row.period, "recordings_count": row.recordings_count,
            "storage_bytes": row.storage_bytes, "transcription_seconds": row.transcription_seconds,
            "plan": limits.source, **{name: getattr(limits, name) for name in QUOTA_NAMES}}


P95 = 0.95


def _attempt_seconds(dialect: str) -> ColumnElement[float]:
    """A stage attempt's duration in seconds, in the database's own date arithmetic."""
    started, completed = ProcessingStage.started_at, ProcessingStage.completed_at
    if dialect == "postgresql":
        return cast(func.extract("epoch", completed - started), Float)
    return cast((func.julianday(completed) - func.julianday(started)) * 86400.0, Float)


def stage_times(session: Session, period: DateRange = ALL_TIME, user_id: str | None = None) -> pd.DataFrame:
    """Average and p95 seconds per completed stage attempt started in the range, slowest mean first.

    Everything is aggregated in one query, so the cost is the database's scan, not a transfer of every
    attempt to Python: `percentile_cont` on PostgreSQL; on SQLite (which has no ordered-set aggregates)
    the same linear interpolation between the two ranked values around the 95th position, computed with
    window functions. Both agree with pandas' default `quantile`.
    """
    dialect = session.get_bind().dialect.name
    seconds = _attempt_seconds(dialect).label("seconds")
    attempts: Select[*tuple[Any, ...]] = (
        select(ProcessingStage.stage.label("stage"), seconds)
        .where(ProcessingStage.status == "completed", ProcessingStage.completed_at.is_not(None),
               *period.conditions(ProcessingStage.started_at))
    )
    if user_id is not None:
        attempts = attempts.join(Recording, Recording.id == ProcessingStage.recording_id).where(
            Recording.user_id == user_id)
    stmt = _percentile_query(attempts, dialect)
    df = frame(session, stmt)
    if df.empty:
        return df
    df["runs"] = df["runs"].astype("int64")
    return df.sort_values("mean_s", ascending=False, ignore_index=True).round(3)


def _percentile_query(attempts: Select[*tuple[Any, ...]], dialect: str) -> Select[*tuple[Any, ...]]:
    if dialect == "postgresql":
        rows = attempts.subquery()
        return (
            select(rows.c.stage, func.count().label("runs"), cast(func.avg(rows.c.seconds), Float).label("mean_s"),
                   cast(func.percentile_cont(P95).within_group(rows.c.seconds), Float).label("p95_s"))
            .group_by(rows.c.stage)
        )
    base = attempts.subquery()
    ranked = select(
        base.c.stage, base.c.seconds,
        (func.row_number().over(partition_by=base.c.stage, order_by=base.c.seconds) - 1).label("rank"),
        func.count().over(partition_by=base.c.stage).label("n"),
    ).subquery()
    position = P95 * (ranked.c.n - 1)
    low = cast(position, BigInteger)  # floor: the position is never negative
    fraction = position - low
    p95 = func.sum(case((ranked.c.rank == low, ranked.c.seconds * (1 - fraction)),
                        (ranked.c.rank == low + 1, ranked.c.seconds * fraction), else_=0.0))
    return (
        select(ranked.c.stage, func.count().label("runs"), cast(func.avg(ranked.c.seconds), Float).label("mean_s"),
               cast(p95, Float).label("p95_s"))
        .group_by(ranked.c.stage)
    )
