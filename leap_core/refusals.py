"""Refused calls leave a record: who asked, what, and why it was refused.

A refusal escapes the caller's transaction (which rolls back), so its audit row is written in a unit of
work of its own, after the fact. The caller's own row says exactly what they were told ("recording not
found: …"); when the ids they named belong to another user, a second row with no `user_id` (so only
admins read it) says whose they were. That keeps "another user's id reads as missing" true for the
caller's own activity log while the operator still sees the probe.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from leap_core import audit
from leap_core.audit import Actor
from leap_core.db.base import Base
from leap_core.db.session import Database
from leap_core.errors import (
    InvalidTransitionError,
    LeapError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    ValidationError,
)
from leap_core.notifications.events import redact_text

log = logging.getLogger(__name__)
CROSS_TENANT = "tenancy.cross_tenant"
"""The admin-only record of a call that named another user's ids."""
_AUDITED = "_leap_refusal_audited"


def kind_of(error: LeapError) -> str:
    """A stable word for the reason, to filter on: not_found, not_admin, quota, min_interval, invalid, …"""
    if isinstance(error, QuotaExceededError):
        return "min_interval" if error.quota == "min_automation_interval_hours" else "quota"
    if isinstance(error, PermissionDeniedError):
        return "not_admin"
    if isinstance(error, NotFoundError):
        return "not_found"
    if isinstance(error, InvalidTransitionError):
        return "invalid_state"
    if isinstance(error, ValidationError):
        return "invalid_input"
    return "refused"


def details_of(error: LeapError) -> dict[str, Any]:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    details: dict[str, Any] = {"kind": kind_of(error), "reason": redact_text(reason)[:500],
                               "error": type(error).__name__}
    if isinstance(error, QuotaExceededError):
        details.update(quota=error.quota, limit=error.limit, current=error.current)
    return details


def already_recorded(error: BaseException) -> bool:
    return bool(getattr(error, _AUDITED, False))


def record(
    db: Database, actor: Actor, user_id: str | None, action: str, error: LeapError,
    resource_type: str = "call", resource_id: str | None = None,
) -> None:
    """Write the refusal (once per error, however many API layers it passes) in its own transaction.

    A failure to write is logged, never raised: the caller must get the refusal, not an audit error.
    """
    if already_recorded(error):
        return
    setattr(error, _AUDITED, True)
    refs = error.refs if isinstance(error, NotFoundError) else ()
    resource_type = (error.resource if isinstance(error, NotFoundError) and error.resource else resource_type)
    resource_id = resource_id or (refs[0][:64] if refs else None)
    details = details_of(error)
    if len(refs) > 1:
        details["refs"] = list(refs)
    try:
        with db.session() as session:
            audit.record(session, actor, action, resource_type, resource_id, user_id=user_id, details=details,
                         result="refused")
            if isinstance(error, NotFoundError) and user_id is not None:
                _record_cross_tenant(session, actor, user_id, action, error)
    except SQLAlchemyError:
        log.warning("could not audit a refused %s (%s)", action, details["kind"], exc_info=True)


def _record_cross_tenant(session: Any, actor: Actor, user_id: str, action: str, error: NotFoundError) -> None:
    table = Base.metadata.tables.get(error.resource or "")
    if table is None or not error.refs or "user_id" not in table.c or "id" not in table.c:
        return
    refs: list[Any] = list(error.refs)
    if table.c.id.type.python_type is int:
        refs = [int(r) for r in refs if r.isdigit()]
    owners = session.execute(select(table.c.id, table.c.user_id).where(
        table.c.id.in_(refs), table.c.user_id != user_id)).all()
    for resource_id, owner in owners:
        audit.record(session, actor, CROSS_TENANT, error.resource or "call", str(resource_id), user_id=None,
                     details={"attempted": action, "caller": user_id, "owner": owner}, result="refused")
