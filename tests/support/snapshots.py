"""Every row of every table, to prove a refused call changed nothing (its own refusal record aside)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from leap_core.api import Leap
from leap_core.db.base import Base
from leap_core.db.models import AuditLog

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(leap: Leap, caller: str | None = None) -> Snapshot:
    """All tables; audit rows with result `refused` are left out: writing them is what a refusal must do.

    With `caller`, that user's own audit rows are left out too (a call on "all of mine" may audit itself).
    """
    with leap.db.session() as session:
        shot: Snapshot = {}
        for table in Base.metadata.sorted_tables:
            stmt = select(table)
            if table.name == AuditLog.__tablename__:
                stmt = stmt.where(table.c.result != "refused")
                if caller is not None:
                    stmt = stmt.where((table.c.user_id != caller) | table.c.user_id.is_(None))
            shot[table.name] = sorted(tuple(map(repr, row)) for row in session.execute(stmt))
        return shot


def refusals(leap: Leap, after_id: int = 0) -> list[AuditLog]:
    with leap.db.session() as session:
        rows = list(session.scalars(select(AuditLog).where(AuditLog.result == "refused", AuditLog.id > after_id)
                                    .order_by(AuditLog.id)))
        session.expunge_all()
        return rows


def last_audit_id(leap: Leap) -> int:
    with leap.db.session() as session:
        return max(session.scalars(select(AuditLog.id)), default=0)
