"""Quota warnings from the usage writers: 80% and 100% of a limit, each once per quota per period."""

from __future__ import annotations

from sqlalchemy.orm import Session

from leap_core.db.models import Notification
from leap_core.notifications.events import notify, quota_warning_event
from leap_core.quotas import EffectiveQuotas


def notify_quota_levels(
    session: Session, user_id: str, period: str, quotas: EffectiveQuotas, recordings_count: int, storage_gb: float
) -> list[Notification]:
    """Called in the transaction that counted the usage, so a warning exists exactly when the usage does.

    Re-checking after every reservation is cheap: once a level was reported for the period, its
    idempotency key makes the next `notify` a no-op.
    """
    levels = (("max_recordings_per_month", recordings_count, quotas.max_recordings_per_month),
              ("max_storage_gb", storage_gb, quotas.max_storage_gb))
    stored = []
    for quota, used, limit in levels:
        event = quota_warning_event(user_id, quota, used, limit, period)
        notification = notify(session, user_id, event) if event is not None else None
        if notification is not None:
            stored.append(notification)
    return stored
