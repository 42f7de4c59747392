"""The in-app inbox: a user's notifications, the unread count, marking read, and the delivery log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from leap_core.db.models import Notification, NotificationDelivery
from leap_core.db.types import utcnow


def as_dict(row: Notification) -> dict[str, Any]:
    return {"id": row.id, "type": row.event_type, "title": row.title, "body": row.body, "data": row.data,
            "created_at": row.created_at, "read_at": row.read_at, "unread": row.read_at is None}


def delivery_as_dict(row: NotificationDelivery) -> dict[str, Any]:
    return {"id": row.id, "notification_id": row.notification_id, "channel": row.channel, "status": row.status,
            "attempts": row.attempts, "next_attempt_at": row.next_attempt_at, "last_error": row.last_error}


def listing(session: Session, user_id: str, unread_only: bool = False, limit: int = 50) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(session.scalars(stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def unread_count(session: Session, user_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def mark_read(session: Session, user_id: str, ids: Sequence[str] | None) -> int:
    """Mark the given notifications (all unread ones when `ids` is None) read; returns how many changed.

    Ids of other users' notifications match nothing, exactly like unknown ids.
    """
    stmt = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    result = session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def deliveries(session: Session, user_id: str, notification_id: str | None = None,
               limit: int = 100) -> list[NotificationDelivery]:
    stmt = (select(NotificationDelivery).join(Notification, Notification.id == NotificationDelivery.notification_id)
            .where(Notification.user_id == user_id))
    if notification_id is not None:
        stmt = stmt.where(NotificationDelivery.notification_id == notification_id)
    return list(session.scalars(stmt.order_by(NotificationDelivery.id.desc()).limit(limit)))
