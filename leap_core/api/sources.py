"""`SourcesAPI`: one user's sources — a local folder, a Zoom account, a Yandex Disk folder — and their sync."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leap_core import audit, credentials, views
from leap_core.api.audited import audited_refusals
from leap_core.audit import Actor
from leap_core.db.models import AutomationJob, Source, Template
from leap_core.db.session import Database
from leap_core.errors import NotFoundError, ValidationError
from leap_core.naming import checked_name
from leap_core.sources.base import DEFAULT_PREFERRED_TYPES
from leap_core.sources.sync import confined_folder, sync_sources

if TYPE_CHECKING:
    from leap_core.api.users import UserAPI

Named = TypeVar("Named", Source, Template, AutomationJob)


def owned_by_ref(session: Session, model: type[Named], user_id: str, ref: str, what: str) -> Named:
    """One of the user's rows by id or by name; another user's reads as missing."""
    row = session.scalar(select(model).where(model.user_id == user_id, (model.id == ref) | (model.name == ref)))
    if row is None:
        raise NotFoundError(f"{what} not found: {ref}", resource=model.__tablename__, refs=(ref,))
    return row


def source_view(source: Source) -> dict[str, Any]:
    config = source.config or {}
    where = config.get("path") or config.get("folder") or (f"zoom user {config['user_id']}" if source.kind == "zoom"
                                                           else None)
    return {**views.source(source), "where": where}


@audited_refusals("source")
class SourcesAPI:
    def __init__(self, user: UserAPI) -> None:
        self.user = user

    def _refusal_scope(self) -> tuple[Database, Actor, str | None]:
        return self.user._refusal_scope()

    def add_local(self, name: str, path: Path) -> dict[str, Any]:
        """Watch a folder on this machine: media files dropped into it become recordings.

        Only under a root an admin allows, clear of LEAP's own folders and of other users' sources; the
        folder is created only once all of that holds (see `leap_core.paths`).
        """
        checked_name(name, "source")  # before the folder is created
        with self.user.leap.db.session() as session:
            folder = confined_folder(session, self.user.leap.settings, self.user.user_id, path)
        folder.mkdir(parents=True, exist_ok=True)
        return self._add(name, "local", {"path": str(folder)}, None)

    def add_zoom(
        self, name: str, credential: str, *, zoom_user: str = "me",
        preferred_types: Sequence[str] = DEFAULT_PREFERRED_TYPES, lookback_days: int = 30,
    ) -> dict[str, Any]:
        """A Zoom user's cloud recordings, read through the Server-to-Server OAuth app stored as `credential`."""
        if not 1 <= lookback_days <= 365:
            raise ValidationError("lookback_days must be between 1 and 365")
        config = {"user_id": zoom_user, "preferred_types": list(preferred_types), "lookback_days": lookback_days}
        return self._add(name, "zoom", config, credential)

    def add_yandex(self, name: str, credential: str, folder: str) -> dict[str, Any]:
        """The media files in one Yandex Disk folder, read with the OAuth token stored as `credential`."""
        if not folder.strip():
            raise ValidationError("name the Yandex Disk folder, e.g. disk:/Lectures")
        return self._add(name, "yandex", {"folder": folder.strip()}, credential)

    def list(self) -> builtins.list[dict[str, Any]]:
        with self.user.leap.db.session() as session:
            rows = session.scalars(select(Source).where(Source.user_id == self.user.user_id).order_by(Source.name))
            return [source_view(s) for s in rows]

    def sync(self, ref: str | None = None) -> builtins.list[dict[str, Any]]:
        """List one source (by name or id), or all enabled ones, now; failures are reported per source."""
        with self.user.leap.db.session() as session:
            if ref is not None:
                ids = [owned_by_ref(session, Source, self.user.user_id, ref, "source").id]
            else:
                ids = list(session.scalars(select(Source.id).where(
                    Source.user_id == self.user.user_id, Source.enabled.is_(True)).order_by(Source.name)))
        leap = self.user.leap
        return [s.as_dict() for s in sync_sources(leap.db, self.user.actor, leap.settings, ids)]

    def _add(self, name: str, kind: str, config: dict[str, Any], credential: str | None) -> dict[str, Any]:
        name = checked_name(name, "source")
        try:
            with self.user.leap.db.session() as session:
                credential_id = (
                    credentials.find(session, self.user.user_id, kind, credential).id if credential else None
                )
                source = Source(user_id=self.user.user_id, kind=kind, name=name, config=config,
                                credential_id=credential_id)
                session.add(source)
                session.flush()
                audit.record(session, self.user.actor, "source.create", "source", source.id,
                             user_id=self.user.user_id,
                             details={"kind": kind, "name": name, **config, "credential": credential})
                return source_view(source)
        except IntegrityError:
            raise ValidationError(f"you already have a source named {name!r}") from None
