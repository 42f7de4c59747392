"""What a channel is handed to send, and how it says the send did not work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leap_core.db.models import Notification
from leap_core.errors import LeapError


@dataclass(frozen=True)
class Letter:
    """A stored notification detached from its session, so it can be sent with no transaction open."""

    id: str
    type: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row: Notification) -> Letter:
        return cls(row.id, row.event_type, row.title, row.body, dict(row.data), row.created_at)


class DeliveryError(LeapError):
    """A send that did not go through. `permanent` means another attempt cannot help (a refused
    recipient, a 4xx from the endpoint, a channel not configured), so the outbox stops retrying it."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)
