"""The Python API: `Leap.from_env()`, then `leap.as_user(id)` for one tenant or `leap.admin(actor)`.

A user-scoped API filters every query by its user id, so another user's ids behave exactly like
missing ones; the admin API checks the actor's role once, when it is made. Bulk calls load their rows
in one query and write their audit records together.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from leap_core import audit, recordings, views
from leap_core.audit import Actor, AuditQuery
from leap_core.config import Settings, default_quotas, get_settings
from leap_core.db.models import OutputTarget, Recording, RunRequest, Source, Template, User
from leap_core.db.session import Database
from leap_core.errors import NotFoundError, PermissionDeniedError, ValidationError
from leap_core.naming import slugify
from leap_core.pipeline.facade import Pipeline
from leap_core.quotas import effective_quotas_for
from leap_core.states import IN_FLIGHT, RecordingStatus


class Leap:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    @classmethod
    def from_env(cls) -> Leap:
        """Settings from LEAP_* variables; the embedded SQLite default creates and migrates itself."""
        settings = get_settings()
        leap = cls(settings, Database(settings.resolved_database_url))
        if settings.is_embedded:
            leap.db.upgrade()
        return leap

    @cached_property
    def pipeline(self) -> Pipeline:
        return Pipeline(self.settings, self.db)

    def as_user(self, user_id: str, actor: Actor | None = None) -> UserAPI:
        with self.db.session() as session:
            user = session.get(User, user_id) or session.scalar(select(User).where(User.slug == user_id))
            if user is None:
                raise NotFoundError(f"user not found: {user_id}")
            session.expunge(user)
        return UserAPI(self, user, actor or Actor(self.settings.actor or user.slug, origin="api"))

    def admin(self, actor: str | Actor) -> AdminAPI:
        acting = actor if isinstance(actor, Actor) else Actor(actor, origin="api")
        with self.db.session() as session:
            user = session.scalar(select(User).where((User.slug == acting.name) | (User.id == acting.name)))
            if user is None or user.role != "admin":
                raise PermissionDeniedError(f"{acting.name!r} is not an admin")
        return AdminAPI(self, acting)


class AdminAPI:
    """Platform-wide operations; only made for an actor whose user has the admin role."""

    def __init__(self, leap: Leap, actor: Actor) -> None:
        self.leap = leap
        self.actor = actor

    def create_user(self, slug: str, email: str | None = None, role: str = "user") -> dict[str, Any]:
        return create_user(self.leap.db, self.actor, slug, email, role)

    def list_users(self) -> list[dict[str, Any]]:
        with self.leap.db.session() as session:
            return [views.user(u) for u in session.scalars(select(User).order_by(User.created_at))]

    def audit(self, q: AuditQuery) -> list[dict[str, Any]]:
        with self.leap.db.session() as session:
            return [audit.as_dict(e) for e in audit.query(session, q)]


def create_user(db: Database, actor: Actor, slug: str, email: str | None, role: str) -> dict[str, Any]:
    """Also used by `leap init`, before any admin exists."""
    if role not in ("user", "admin"):
        raise ValidationError("role must be 'user' or 'admin'")
    clean = slugify(slug, "")
    if clean != slug or len(slug) > 64:
        raise ValidationError(f"user slug must be lowercase letters, digits and dashes (try {clean!r})")
    try:
        with db.session() as session:
            user = User(slug=slug, email=email, role=role)
            session.add(user)
            session.flush()
            audit.record(session, actor, "user.create", "user", user.id, user_id=user.id,
                         details={"slug": slug, "role": role})
            return views.user(user)
    except IntegrityError:
        raise ValidationError(f"a user with slug {slug!r} already exists") from None


class UserAPI:
    """Everything one user may do with their own rows."""

    def __init__(self, leap: Leap, user: User, actor: Actor) -> None:
        self.leap = leap
        self.user = user
        self.actor = actor

    @property
    def user_id(self) -> str:
        return self.user.id

    # sources and templates -------------------------------------------------------------------
    def add_local_source(self, name: str, path: Path) -> dict[str, Any]:
        folder = path.expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with self.leap.db.session() as session:
                source = Source(user_id=self.user_id, kind="local", name=name, config={"path": str(folder)})
                session.add(source)
                session.flush()
                audit.record(session, self.actor, "source.create", "source", source.id, user_id=self.user_id,
                             details={"kind": "local", "name": name, "path": str(folder)})
                return views.source(source)
        except IntegrityError:
            raise ValidationError(f"you already have a source named {name!r}") from None

    def sources(self) -> list[dict[str, Any]]:
        with self.leap.db.session() as session:
            rows = session.scalars(select(Source).where(Source.user_id == self.user_id).order_by(Source.name))
            return [views.source(s) for s in rows]

    def add_template(
        self, name: str, *, targets: list[str], process_on_arrival: bool = True, priority: int = 0,
        rules: dict[str, Any] | None = None, trim: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        from leap_core.stages import PLATFORMS

        unknown = [t for t in targets if t not in PLATFORMS]
        if unknown:
            raise ValidationError(f"unknown target platform(s): {', '.join(unknown)}; known: {', '.join(PLATFORMS)}")
        try:
            with self.leap.db.session() as session:
                template = Template(user_id=self.user_id, name=name, targets=targets, priority=priority,
                                    process_on_arrival=process_on_arrival, rules=rules or {}, trim=trim or {})
                session.add(template)
                session.flush()
                audit.record(session, self.actor, "template.create", "template", template.id,
                             user_id=self.user_id, details=views.template(template))
                return views.template(template)
        except IntegrityError:
            raise ValidationError(f"you already have a template named {name!r}") from None

    def templates(self) -> list[dict[str, Any]]:
        with self.leap.db.session() as session:
            rows = session.scalars(select(Template).where(Template.user_id == self.user_id).order_by(Template.name))
            return [views.template(t) for t in rows]

    # recordings --------------------------------------------------------------------------------
    def recordings(self, status: RecordingStatus | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with self.leap.db.session() as session:
            stmt = select(Recording).where(Recording.user_id == self.user_id, Recording.deleted_at.is_(None))
            if status is not None:
                stmt = stmt.where(Recording.status == status)
            rows = list(session.scalars(stmt.order_by(Recording.created_at.desc()).limit(limit)))
            targets = self._targets_by_recording(session, [r.id for r in rows])
            return [views.recording(r, targets[r.id]) for r in rows]

    def recording(self, recording_id: str) -> dict[str, Any]:
        with self.leap.db.session() as session:
            (row,) = recordings.load_owned(session, self.user_id, [recording_id])
            return views.recording(row, self._targets_by_recording(session, [row.id])[row.id])

    def stages(self, recording_id: str) -> list[dict[str, Any]]:
        with self.leap.db.session() as session:
            recordings.load_owned(session, self.user_id, [recording_id])
            return [views.stage(s) for s in recordings.stages_of(session, [recording_id])]

    def retry(self, recording_ids: list[str]) -> list[dict[str, Any]]:
        with self.leap.db.session() as session:
            rows = recordings.load_owned(session, self.user_id, recording_ids)
            requests = recordings.retry(session, self.actor, rows)
            return [{"recording_id": r.recording_id, "first_stage": r.first_stage} for r in requests]

    def reset(self, recording_id: str) -> dict[str, Any]:
        with self.leap.db.session() as session:
            (row,) = recordings.load_owned(session, self.user_id, [recording_id])
            active = session.scalar(select(RunRequest.id).where(
                RunRequest.recording_id == row.id, RunRequest.status.in_(("pending", "launched"))).limit(1))
            recordings.reset(session, self.actor, row, in_flight=row.status in IN_FLIGHT or active is not None)
            return views.recording(row)

    def quotas(self) -> dict[str, Any]:
        with self.leap.db.session() as session:
            return effective_quotas_for(session, [self.user_id], default_quotas())[self.user_id].as_dict()

    def activity(self, action: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
        q = AuditQuery(user_id=self.user_id, action=action, since=since, until=until, limit=limit)
        with self.leap.db.session() as session:
            return [audit.as_dict(e) for e in audit.query(session, q)]

    @staticmethod
    def _targets_by_recording(session: Any, ids: list[str]) -> dict[str, list[OutputTarget]]:
        grouped: dict[str, list[OutputTarget]] = defaultdict(list)
        for target in session.scalars(select(OutputTarget).where(OutputTarget.recording_id.in_(ids))):
            grouped[target.recording_id].append(target)
        return grouped
