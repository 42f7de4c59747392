"""The audit log: one writer that every state-changing call uses, and the queries over it.

`Actor` travels with every call so a record always says who acted and from where (cli, api, sensor,
schedule, run), with the Dagster run id, host and OS user as LEAP's stand-in for an IP and user agent.
`actor` is the identity the call acted as (the user of `leap.as_user(...)`); `operator` is whoever stood
behind it when that is someone else (LEAP_ACTOR, `leap init`, a test harness), so neither is lost.
Details are scrubbed of the fields named in `SECRET_FIELDS` (exact names, not substrings: a
`partition_key` is data, an `api_key` is a secret) before they are written.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from leap_core.db.models import AuditLog

Origin = Literal["cli", "api", "sensor", "schedule", "run", "webhook"]
Result = Literal["success", "failure", "partial", "refused", "ignored"]
SECRET_FIELDS = frozenset({
    # credential fields (`leap_core.credentials.FIELDS`) and the OAuth names their sources use
    "token", "access_token", "refresh_token", "id_token", "client_secret", "webhook_secret_token",
    # generic secrets a caller or a platform error may hand over
    "password", "passwd", "secret", "webhook_secret", "api_key", "apikey", "secret_key", "private_key",
    "authorization", "cookie", "set_cookie", "credential_data", "encrypted", "signature",
})
"""Detail keys whose values are never written (compared case-insensitively, `-` read as `_`)."""


def _host() -> str:
    return socket.gethostname()


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


@dataclass(frozen=True)
class Actor:
    name: str
    origin: Origin = "api"
    run_id: str | None = None
    host: str | None = field(default_factory=_host)
    os_user: str | None = field(default_factory=_os_user)
    operator: str | None = None
    """Who stood behind the call when it acted as someone else (None: the actor acted for itself)."""

    def in_run(self, run_id: str) -> Actor:
        return replace(self, origin="run", run_id=run_id)

    def acting_as(self, identity: str) -> Actor:
        """This caller acting as `identity`: records name `identity`, and this caller as the operator."""
        if identity == self.name:
            return self
        return replace(self, name=identity, operator=self.operator or self.name)


SYSTEM = Actor("system", origin="sensor")


def is_secret_field(key: str) -> bool:
    return key.strip().lower().replace("-", "_") in SECRET_FIELDS


def scrub(details: Mapping[str, Any]) -> dict[str, Any]:
    """Drop values under the named secret fields, recursively (lists too): the log never holds a credential."""
    return {key: "[redacted]" if is_secret_field(str(key)) else _scrub_value(value) for key, value in details.items()}


def _scrub_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return scrub(value)
    if isinstance(value, list | tuple):
        return [_scrub_value(item) for item in value]
    return value


def record(
    session: Session,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: str | None,
    *,
    user_id: str | None,
    details: Mapping[str, Any] | None = None,
    result: Result = "success",
) -> AuditLog:
    entry = AuditLog(
        actor=actor.name,
        operator=actor.operator,
        user_id=user_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        details=scrub(details or {}),
        result=result,
        origin=actor.origin,
        run_id=actor.run_id,
        host=actor.host,
        os_user=actor.os_user,
    )
    session.add(entry)
    return entry


def record_many(
    session: Session,
    actor: Actor,
    action: str,
    resource_type: str,
    items: Sequence[tuple[str, str | None, Mapping[str, Any]]],
    result: Result = "success",
) -> None:
    """One audit row per (resource_id, user_id, details), inserted in one executemany for bulk operations."""
    if not items:
        return
    now = datetime.now(UTC)
    session.execute(
        insert(AuditLog),
        [
            {"ts": now, "actor": actor.name, "operator": actor.operator, "user_id": user_id, "action": action,
             "resource_type": resource_type,
             "resource_id": resource_id, "details": scrub(details), "result": result, "origin": actor.origin,
             "run_id": actor.run_id, "host": actor.host, "os_user": actor.os_user}
            for resource_id, user_id, details in items
        ],
    )


@dataclass(frozen=True)
class AuditQuery:
    user_id: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


def query(session: Session, q: AuditQuery) -> list[AuditLog]:
    stmt = select(AuditLog)
    if q.user_id is not None:
        stmt = stmt.where(AuditLog.user_id == q.user_id)
    if q.action is not None:
        stmt = stmt.where(AuditLog.action.like(q.action.replace("*", "%")))
    if q.resource_type is not None:
        stmt = stmt.where(AuditLog.resource_type == q.resource_type)
    if q.resource_id is not None:
        stmt = stmt.where(AuditLog.resource_id == q.resource_id)
    if q.since is not None:
        stmt = stmt.where(AuditLog.ts >= q.since)
    if q.until is not None:
        stmt = stmt.where(AuditLog.ts < q.until)
    return list(session.scalars(stmt.order_by(AuditLog.ts.desc(), AuditLog.id.desc()).limit(q.limit)))


def as_dict(entry: AuditLog) -> dict[str, Any]:
    return {
        "id": entry.id, "ts": entry.ts, "actor": entry.actor, "operator": entry.operator, "user_id": entry.user_id,
        "action": entry.action, "resource_type": entry.resource_type, "resource_id": entry.resource_id,
        "result": entry.result, "origin": entry.origin, "run_id": entry.run_id, "details": entry.details,
    }
