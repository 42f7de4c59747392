"""`AutomationAPI`: one user's automation jobs — CRUD, manual and dry runs, and their history."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leap_core import automation, usage
from leap_core.api.audited import audited_refusals
from leap_core.api.sources import owned_by_ref
from leap_core.audit import Actor
from leap_core.db.models import AutomationJob, Template
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.errors import QuotaExceededError, ValidationError

if TYPE_CHECKING:
    from leap_core.api.users import UserAPI

Clock = Callable[[], datetime]
SHOWN_NEXT_RUNS = 5


def _template_name(session: Session, job: AutomationJob) -> str | None:
    template = session.get(Template, job.template_id)
    return template.name if template else None


@audited_refusals("automation")
class AutomationAPI:
    """`clock` is the time a job is created, changed or run at: a parameter so schedules can be tested."""

    def __init__(self, user: UserAPI, clock: Clock = utcnow) -> None:
        self.user = user
        self.clock = clock

    def _refusal_scope(self) -> tuple[Database, Actor, str | None]:
        return self.user._refusal_scope()

    def create(self, name: str, template: str, schedule: Mapping[str, Any], enabled: bool = True) -> dict[str, Any]:
        """A job for one template; the template stops processing on arrival, so its recordings wait for the job."""
        try:
            with self._refusals_recorded("automation.create", name), self.user.leap.db.session() as session:
                row = owned_by_ref(session, Template, self.user.user_id, template, "template")
                job = automation.create_job(session, self.user.actor, row, name, schedule, enabled, self.clock())
                return automation.job_view(job, row.name)
        except IntegrityError:
            raise ValidationError(f"you already have an automation job named {name!r}") from None

    @contextmanager
    def _refusals_recorded(self, action: str, ref: str) -> Iterator[None]:
        """A refusal rolls the caller's work back; its audit record (and a quota's notice) is written after.

        A bad schedule is audited as a refusal with its one-line reason by the API's refusal wrapper
        (`leap_core.api.audited`), like every other refused call.
        """
        try:
            yield
        except QuotaExceededError as error:
            with self.user.leap.db.session() as session:
                usage.record_refusal(session, self.user.actor, self.user.user_id, error)
            raise

    def update(
        self, ref: str, *, schedule: Mapping[str, Any] | None = None, template: str | None = None,
        enabled: bool | None = None,
    ) -> dict[str, Any]:
        with self._refusals_recorded("automation.update", ref), self.user.leap.db.session() as session:
            job = owned_by_ref(session, AutomationJob, self.user.user_id, ref, "automation job")
            new_template = (owned_by_ref(session, Template, self.user.user_id, template, "template")
                            if template else None)
            automation.update_job(session, self.user.actor, job, self.clock(), template=new_template,
                                  schedule=schedule, enabled=enabled)
            return automation.job_view(job, _template_name(session, job))

    def enable(self, ref: str) -> dict[str, Any]:
        return self.update(ref, enabled=True)

    def disable(self, ref: str) -> dict[str, Any]:
        return self.update(ref, enabled=False)

    def delete(self, ref: str) -> None:
        with self.user.leap.db.session() as session:
            automation.delete_job(session, self.user.actor,
                                  owned_by_ref(session, AutomationJob, self.user.user_id, ref, "automation job"))

    def list(self) -> builtins.list[dict[str, Any]]:
        with self.user.leap.db.session() as session:
            rows = session.execute(
                select(AutomationJob, Template.name).join(Template, Template.id == AutomationJob.template_id)
                .where(AutomationJob.user_id == self.user.user_id).order_by(AutomationJob.name)).all()
            return [automation.job_view(job, name) for job, name in rows]

    def show(self, ref: str, history: int = 10) -> dict[str, Any]:
        """The job, its next few fire times (to check a schedule by eye) and its latest runs."""
        with self.user.leap.db.session() as session:
            job = owned_by_ref(session, AutomationJob, self.user.user_id, ref, "automation job")
            upcoming = automation.next_runs(job.schedule, self.clock(), SHOWN_NEXT_RUNS) if job.enabled else []
            return {**automation.job_view(job, _template_name(session, job)), "upcoming": upcoming,
                    "history": automation.history(session, job.id, history)}

    def history(self, ref: str, limit: int = 20) -> builtins.list[dict[str, Any]]:
        with self.user.leap.db.session() as session:
            job = owned_by_ref(session, AutomationJob, self.user.user_id, ref, "automation job")
            return automation.history(session, job.id, limit)

    def run(self, ref: str) -> dict[str, Any]:
        """Run now; the minimum interval applies exactly as to a scheduled run."""
        return self._run(ref, dry_run=False)

    def dry_run(self, ref: str) -> dict[str, Any]:
        """What a run would select now; changes nothing and does not count as a run."""
        return self._run(ref, dry_run=True)

    def _run(self, ref: str, dry_run: bool) -> dict[str, Any]:
        leap = self.user.leap
        with leap.db.session() as session:
            job_id = owned_by_ref(session, AutomationJob, self.user.user_id, ref, "automation job").id
        summary = automation.run_job(leap.db, self.user.actor, leap.settings, job_id, "manual", self.clock(),
                                     dry_run=dry_run)
        return summary.as_dict()
