"""`NotificationsAPI` (`user_api.notifications`): one user's inbox, delivery log and preferences."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from leap_core import audit
from leap_core.api.audited import audited_refusals
from leap_core.audit import Actor
from leap_core.db.models import User
from leap_core.db.session import Database
from leap_core.errors import NotFoundError
from leap_core.notifications import inbox, outbox, preferences
from leap_core.notifications.addresses import allowed_networks
from leap_core.secrets import SecretBox

if TYPE_CHECKING:
    from leap_core.api.users import UserAPI


@audited_refusals("notification")
class NotificationsAPI:
    def __init__(self, owner: UserAPI) -> None:
        self.owner = owner
        self.db = owner.leap.db

    def _refusal_scope(self) -> tuple[Database, Actor, str | None]:
        return self.owner._refusal_scope()

    def list(self, unread_only: bool = False, limit: int = 50) -> list[dict[str, Any]]:
        with self.db.session() as session:
            return [inbox.as_dict(n) for n in inbox.listing(session, self.owner.user_id, unread_only, limit)]

    def unread_count(self) -> int:
        with self.db.session() as session:
            return inbox.unread_count(session, self.owner.user_id)

    def mark_read(self, ids: Sequence[str] | None = None) -> int:
        """Mark these notifications read, or every unread one when no ids are given."""
        with self.db.session() as session:
            changed = inbox.mark_read(session, self.owner.user_id, ids)
            if changed:
                audit.record(session, self.owner.actor, "notification.read", "notification", None,
                             user_id=self.owner.user_id, details={"ids": list(ids or []), "count": changed})
            return changed

    def deliveries(self, notification_id: str | None = None, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """The delivery log: each email/webhook delivery with its attempts, status and last error."""
        with self.db.session() as session:
            rows = inbox.deliveries(session, self.owner.user_id, notification_id, limit)
            return [inbox.delivery_as_dict(d) for d in rows]

    def drain(self, limit: int = 50) -> dict[str, int]:
        """Send my due email and webhook deliveries now; other users' outboxes are not touched."""
        report = outbox.drain(self.db, self.owner.leap.settings, limit=limit, user_id=self.owner.user_id)
        return report.counts()

    def preferences(self) -> dict[str, Any]:
        with self.db.session() as session:
            return preferences.view(self._user(session))

    def set_preferences(
        self,
        *,
        events: Mapping[str, Sequence[str]] | None = None,
        email: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        remove_webhook: bool = False,
        summary: str | None = None,
    ) -> dict[str, Any]:
        """Change only what is given; `email=""` goes back to the account's address. Returns the new view."""
        keys = self.owner.leap.settings.secret_keys
        with self.db.session() as session:
            user = self._user(session)
            before = preferences.view(user)
            preferences.update(user, SecretBox(keys) if keys else None, events=events, email=email,
                               webhook_url=webhook_url, webhook_secret=webhook_secret,
                               remove_webhook=remove_webhook, summary=summary,
                               allowed_networks=allowed_networks(self.owner.leap.settings.webhook_allowed_networks))
            after = preferences.view(user)
            audit.record(session, self.owner.actor, "notification.preferences", "user", user.id,
                         user_id=user.id, details={"before": before, "after": after})
            return after

    def _user(self, session: Session) -> User:
        user = session.get(User, self.owner.user_id)
        if user is None:
            raise NotFoundError(f"user not found: {self.owner.user_id}")
        return user
