"""The daily or weekly summary each user can ask for: what arrived, what was published, what failed.

Run once a day by a Dagster schedule; weekly summaries go out on Mondays (in the schedule's timezone).
The summary's key holds its end date, so a schedule tick that runs twice sends one summary.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from leap_core.db.models import Notification, OutputTarget, Recording, User
from leap_core.db.session import Database
from leap_core.notifications import preferences
from leap_core.notifications.events import notify, summary
from leap_core.notifications.kinds import EventType
from leap_core.states import RecordingStatus, TargetStatus

WINDOWS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


def due_period(user: User, now: datetime) -> Literal["daily", "weekly"] | None:
    period = preferences.summary_period(user)
    if period == "daily" or (period == "weekly" and now.weekday() == 0):
        return period
    return None


def counts(session: Session, user_id: str, start: datetime, end: datetime) -> dict[str, int]:
    def count(stmt: Select[int]) -> int:
        return session.scalar(stmt) or 0

    owned = Recording.user_id == user_id
    return {
        "new recordings": count(select(func.count()).where(owned, Recording.created_at >= start,
                                                          Recording.created_at < end)),
        "published videos": count(select(func.count()).select_from(OutputTarget).join(Recording).where(
            owned, OutputTarget.status == TargetStatus.UPLOADED, OutputTarget.updated_at >= start,
            OutputTarget.updated_at < end)),
        "failed recordings": count(select(func.count()).where(
            owned, Recording.status == RecordingStatus.FAILED, Recording.updated_at >= start,
            Recording.updated_at < end)),
        "notifications": count(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.event_type != EventType.SUMMARY,
            Notification.created_at >= start, Notification.created_at < end)),
    }


def send_summaries(db: Database, now: datetime) -> int:
    """Store (and queue) the summary of every user whose period ends at `now`; returns how many."""
    sent = 0
    with db.session() as session:
        for user in session.scalars(select(User).order_by(User.id)):
            period = due_period(user, now)
            if period is None:
                continue
            start = now - WINDOWS[period]
            event = summary(user.id, period, start, now, counts(session, user.id, start, now))
            sent += notify(session, user.id, event) is not None
    return sent
