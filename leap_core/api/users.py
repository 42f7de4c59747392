"""`UserAPI`: everything one user may do with their own rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from leap_core import audit, recordings, views
from leap_core.audit import Actor, AuditQuery
from leap_core.config import default_quotas
from leap_core.db.models import OutputTarget, Recording, RunRequest, Source, Template, User
from leap_core.errors import ValidationError
from leap_core.quotas import effective_quotas_for
from leap_core.stages import PLATFORMS
from leap_core.states import IN_FLIGHT, RecordingStatus

if TYPE_CHECKING:
    from leap_core.api.leap import Leap


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
            return [{"recording_id": r["recording_id"], "first_stage": r["first_stage"]} for r in requests]

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
