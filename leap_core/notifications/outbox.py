"""The durable outbox: `notification_deliveries` rows waiting to go out by email or webhook.

`notify` writes the rows in the pipeline's own transaction and returns; `drain` (a Dagster sensor, or
`leap notifications drain`) sends them later, so a dead mail server or endpoint never holds up or fails a
stage. Because the queue is a table, a restart loses nothing.

Claiming is an optimistic compare-and-set that works the same on SQLite and PostgreSQL: a row is
claimed by moving it to `sending` with `attempts + 1` and a lease in `next_attempt_at`, but only if it
still has the status and attempt count the claimer read; the attempt number is then the claim token
that the result is written back under. A worker that dies mid-send leaves a `sending` row whose lease
runs out and which the next drain claims again.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update

from leap_core.config import Settings
from leap_core.db.models import Notification, NotificationDelivery, User
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.errors import LeapError
from leap_core.notifications import preferences
from leap_core.notifications.delivery import DeliveryError, Letter
from leap_core.notifications.email import send_email
from leap_core.notifications.webhook import post_webhook
from leap_core.secrets import SecretBox

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
"""Longer than any single send can take (both channels time out well within it)."""


@dataclass(frozen=True)
class Due:
    delivery_id: int
    status: str
    attempts: int


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    attempt: int


@dataclass
class DrainReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"sent": len(self.sent), "retrying": len(self.retrying), "failed": len(self.failed)}


@dataclass(frozen=True)
class _Route:
    """Where one delivery goes, read in a short transaction so nothing is held open while sending."""

    channel: str
    letter: Letter
    user: User


def retry_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> timedelta:
    """Exponential backoff with "equal" jitter: never less than half the step, so retries stay spaced."""
    step = min(cap_s, base_s * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=step / 2 + rng.uniform(0, step / 2))


def due(db: Database, now: datetime, limit: int, user_id: str | None = None) -> list[Due]:
    """Pending deliveries whose time has come, and `sending` ones whose claimer's lease ran out.

    `user_id` confines the read to one user's notifications (a user's own `drain`); None is every
    user's, which only the outbox sensor and an admin may ask for.
    """
    stmt = (select(NotificationDelivery.id, NotificationDelivery.status, NotificationDelivery.attempts)
            .where(NotificationDelivery.status.in_(("pending", "sending")),
                   NotificationDelivery.next_attempt_at <= now))
    if user_id is not None:
        stmt = stmt.join(Notification, Notification.id == NotificationDelivery.notification_id).where(
            Notification.user_id == user_id)
    with db.session() as session:
        rows = session.execute(stmt.order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
                               .limit(limit)).all()
    return [Due(*row) for row in rows]


def claim(db: Database, item: Due, now: datetime) -> Claim | None:
    """Take the delivery if nobody changed it since it was read; None when another drain was first."""
    with db.session() as session:
        claimed = session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.id == item.delivery_id, NotificationDelivery.status == item.status,
                   NotificationDelivery.attempts == item.attempts, NotificationDelivery.next_attempt_at <= now)
            .values(status="sending", attempts=item.attempts + 1, next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
    return Claim(item.delivery_id, item.attempts + 1) if claimed.rowcount == 1 else None  # type: ignore[attr-defined]


def _route(db: Database, delivery_id: int) -> _Route:
    with db.session() as session:
        delivery = session.get(NotificationDelivery, delivery_id)
        assert delivery is not None
        notification = session.get(Notification, delivery.notification_id)
        assert notification is not None
        user = session.get(User, notification.user_id)
        assert user is not None
        session.expunge(user)
        return _Route(delivery.channel, Letter.of(notification), user)


def deliver(db: Database, settings: Settings, claimed: Claim) -> None:
    """Send one claimed delivery; raises DeliveryError when it did not go through."""
    route = _route(db, claimed.delivery_id)
    if route.channel == "email":
        address = preferences.email_address(route.user)
        if address is None:
            raise DeliveryError("you have no email address set", permanent=True)
        send_email(settings, address, route.letter)
    elif route.channel == "webhook":
        url = preferences.webhook_url(route.user)
        if url is None:
            raise DeliveryError("the webhook was removed from your preferences", permanent=True)
        post_webhook(settings, url, _secret(route.user, settings), route.letter)
    else:
        raise DeliveryError(f"unknown channel {route.channel!r}", permanent=True)


def _secret(user: User, settings: Settings) -> str:
    try:
        secret = preferences.webhook_secret(user, SecretBox(settings.secret_keys))
    except LeapError as exc:
        raise DeliveryError(str(exc), permanent=True) from None
    if secret is None:
        raise DeliveryError("the webhook has no signing secret", permanent=True)
    return secret


def record(db: Database, claimed: Claim, now: datetime, error: DeliveryError | None,
           settings: Settings, rng: random.Random) -> str:
    """Write the attempt's outcome under the claim; a row reclaimed meanwhile is left to its new owner."""
    if error is None:
        values: dict[str, object] = {"status": "sent", "last_error": None}
    elif error.permanent or claimed.attempt >= settings.notify_max_attempts:
        values = {"status": "failed", "last_error": str(error)}
    else:
        delay = retry_delay(claimed.attempt, settings.notify_backoff_s, settings.notify_backoff_max_s, rng)
        values = {"status": "pending", "last_error": str(error), "next_attempt_at": now + delay}
    with db.session() as session:
        session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.id == claimed.delivery_id, NotificationDelivery.status == "sending",
                   NotificationDelivery.attempts == claimed.attempt)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return str(values["status"])


def drain(db: Database, settings: Settings, now: datetime | None = None, limit: int = 20,
          budget_s: float | None = None, rng: random.Random | None = None,
          user_id: str | None = None) -> DrainReport:
    """Send what is due, oldest first. Never raises for a failed send: failures are recorded on their rows.

    Each delivery is claimed just before it is sent, so a drain that stops early (its `budget_s` of
    wall time spent, e.g. inside a sensor tick) leaves the rest unclaimed for the next one.
    """
    now = now or utcnow()
    rng = rng or random.Random()
    started = time.monotonic()
    report = DrainReport()
    for item in due(db, now, limit, user_id):
        if budget_s is not None and time.monotonic() - started > budget_s:
            break
        claimed = claim(db, item, now)
        if claimed is None:
            continue
        status = record(db, claimed, now, _attempt(db, settings, claimed), settings, rng)
        {"sent": report.sent, "pending": report.retrying, "failed": report.failed}[status].append(item.delivery_id)
    return report


def _attempt(db: Database, settings: Settings, claimed: Claim) -> DeliveryError | None:
    try:
        deliver(db, settings, claimed)
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # a bug in one delivery must not stop the others or the caller
        log.exception("notification delivery %s failed unexpectedly", claimed.delivery_id)
        return DeliveryError(f"unexpected {type(exc).__name__}")
    return None
