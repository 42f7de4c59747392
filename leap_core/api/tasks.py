"""`TasksAPI`: one user's pipeline runs — list, show, cancel — reached as `leap.as_user(id).tasks`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leap_core import tasks
from leap_core.api.audited import audited_refusals
from leap_core.audit import Actor
from leap_core.db.session import Database
from leap_core.tasks import TaskStatus

if TYPE_CHECKING:
    from leap_core.api.users import UserAPI


@audited_refusals("task")
class TasksAPI:
    """Confined to the owner's runs: another user's task id reads exactly like a missing one."""

    def __init__(self, owner: UserAPI) -> None:
        self.owner = owner

    def _refusal_scope(self) -> tuple[Database, Actor, str | None]:
        return self.owner._refusal_scope()

    def list(self, status: TaskStatus | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with self.owner.leap.db.session() as session:
            return tasks.list_tasks(session, self.owner.user_id, status, limit)

    def show(self, task_id: int) -> dict[str, Any]:
        with self.owner.leap.db.session() as session:
            return tasks.show(session, self.owner.user_id, task_id)

    def cancel(self, task_id: int) -> dict[str, Any]:
        """Stops the run (a queued one at once, a running one on the cancel sensor's next tick); retry resumes it."""
        with self.owner.leap.db.session() as session:
            return tasks.request_cancel(session, self.owner.actor, self.owner.user_id, task_id)
