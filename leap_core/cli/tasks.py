"""`leap tasks …`: your pipeline runs, their progress, and cancel."""

from __future__ import annotations

import typer

from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit
from leap_core.tasks import TaskStatus

tasks_app = typer.Typer(help="Your pipeline runs: status, progress, cancel.", no_args_is_help=True)

COLUMNS = ["id", "title", "status", "progress", "step", "reason", "created_at", "error"]


def register(app: typer.Typer) -> None:
    app.add_typer(tasks_app, name="tasks")


@tasks_app.command("list")
def list_tasks(
    status: TaskStatus | None = typer.Option(None, case_sensitive=False),
    limit: int = typer.Option(100),
    as_json: bool = JsonOption,
) -> None:
    emit(context.me().tasks.list(status, limit), as_json, COLUMNS)


@tasks_app.command("show")
def show(task_id: int, as_json: bool = JsonOption) -> None:
    emit(context.me().tasks.show(task_id), as_json)


@tasks_app.command("cancel")
def cancel(task_id: int, as_json: bool = JsonOption) -> None:
    """Stop a pending or running task; the recording is left FAILED where it stopped, ready for retry."""
    emit(context.me().tasks.cancel(task_id), as_json, COLUMNS)
