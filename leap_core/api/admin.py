"""Platform-wide operations for admins, and user creation (also used by `leap init`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from leap_core import audit, views
from leap_core.audit import Actor, AuditQuery
from leap_core.db.models import User
from leap_core.db.session import Database
from leap_core.errors import ValidationError
from leap_core.naming import slugify

if TYPE_CHECKING:
    from leap_core.api.leap import Leap


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
