"""`Leap`: the root object holding settings and the database; hands out scoped APIs."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import select

from leap_core import refusals
from leap_core.api.admin import AdminAPI
from leap_core.api.users import UserAPI
from leap_core.audit import Actor
from leap_core.config import Settings, get_settings
from leap_core.db.models import User
from leap_core.db.session import Database
from leap_core.errors import NotFoundError, PermissionDeniedError
from leap_core.pipeline.facade import Pipeline


class Leap:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    @classmethod
    def from_env(cls, *, prepare_schema: bool = True) -> Leap:
        """Settings from LEAP_* variables, the schema checked at head (SchemaError: run `leap db upgrade`).

        The embedded SQLite default instead migrates itself, under the migration lock; `prepare_schema=False`
        is for the commands that migrate (`leap init`, `leap db upgrade`).
        """
        settings = get_settings()
        leap = cls(settings, Database(settings.resolved_database_url))
        if prepare_schema:
            leap.db.prepare(embedded=settings.is_embedded)
        return leap

    @cached_property
    def pipeline(self) -> Pipeline:
        return Pipeline(self.settings, self.db)

    def as_user(self, user_id: str, actor: Actor | None = None) -> UserAPI:
        """One user's API. Its records name that user; whoever asked (LEAP_ACTOR, `leap init`, a harness)
        is kept as the operator when it is someone else."""
        with self.db.session() as session:
            user = session.get(User, user_id) or session.scalar(select(User).where(User.slug == user_id))
            if user is not None:
                session.expunge(user)
        asking = actor or Actor(self.settings.actor or (user.slug if user else "unknown"), origin="api")
        if user is None:
            error = NotFoundError(f"user not found: {user_id}")
            refusals.record(self.db, asking, None, "user.as_user", error, "user", user_id[:64])
            raise error
        return UserAPI(self, user, asking.acting_as(user.slug))

    def admin(self, actor: str | Actor) -> AdminAPI:
        """The admin API, only for an actor whose user has the admin role (a refusal is audited)."""
        acting = actor if isinstance(actor, Actor) else Actor(actor, origin="api")
        with self.db.session() as session:
            user = session.scalar(select(User).where((User.slug == acting.name) | (User.id == acting.name)))
            user_id, is_admin = (user.id, user.role == "admin") if user is not None else (None, False)
        if not is_admin:
            error = PermissionDeniedError(f"{acting.name!r} is not an admin")
            refusals.record(self.db, acting, user_id, "admin.access", error, "user", user_id)
            raise error
        return AdminAPI(self, acting)
