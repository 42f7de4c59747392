"""`CredentialsAPI`: one user's platform accounts — add, list (redacted), rotate, delete.

Nothing here returns a secret: callers get the same redacted view the CLI prints. The encryption key is
needed only to write or re-encrypt; listing and deleting work without LEAP_SECRET_KEY.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from leap_core import credentials
from leap_core.api.audited import audited_refusals
from leap_core.audit import Actor
from leap_core.db.session import Database
from leap_core.errors import ValidationError
from leap_core.secrets import SecretBox

if TYPE_CHECKING:
    from leap_core.api.leap import Leap


@audited_refusals("credential")
class CredentialsAPI:
    def __init__(self, leap: Leap, user_id: str, actor: Actor) -> None:
        self.leap = leap
        self.user_id = user_id
        self.actor = actor

    def _refusal_scope(self) -> tuple[Database, Actor, str | None]:
        return self.leap.db, self.actor, self.user_id

    def add(self, platform: str, name: str, data: Mapping[str, Any], *, replace: bool = False) -> dict[str, Any]:
        """`data` holds the platform's secret fields (see `leap_core.credentials.FIELDS`); extra ones are dropped."""
        box = self._box()
        with self.leap.db.session() as session:
            row = credentials.add(session, self.actor, self.user_id, platform, name, data, box, replace=replace)
            return credentials.view(row)

    def entries(self, platform: str | None = None) -> list[dict[str, Any]]:
        with self.leap.db.session() as session:
            return [credentials.view(c) for c in credentials.owned(session, self.user_id, platform)]

    def rotate(self, platform: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        """Re-encrypt with the newest key: every credential of the user, of one platform, or one by name."""
        if name is not None and platform is None:
            raise ValidationError("name the platform too: credential names are per platform")
        box = self._box()
        with self.leap.db.session() as session:
            if platform is not None and name is not None:
                rows = [credentials.find(session, self.user_id, platform, name)]
            else:
                rows = credentials.owned(session, self.user_id, platform)
            credentials.rotate(session, self.actor, rows, box)
            return [credentials.view(c) for c in rows]

    def delete(self, platform: str, name: str) -> None:
        with self.leap.db.session() as session:
            credentials.delete(session, self.actor, credentials.find(session, self.user_id, platform, name))

    def _box(self) -> SecretBox:
        return SecretBox(self.leap.settings.secret_keys)
