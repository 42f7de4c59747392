"""`leap recordings …` and `leap audit list`: the user's own recordings and activity."""

from __future__ import annotations

from datetime import datetime

import typer

from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit
from leap_core.states import RecordingStatus

recordings_app = typer.Typer(help="Your recordings.", no_args_is_help=True)
audit_app = typer.Typer(help="Your activity log.", no_args_is_help=True)

COLUMNS = ["id", "partition_key", "status", "failed_at_stage", "retry_count", "error"]


def register(app: typer.Typer) -> None:
    app.add_typer(recordings_app, name="recordings")
    app.add_typer(audit_app, name="audit")


@recordings_app.command("list")
def list_recordings(
    status: RecordingStatus | None = typer.Option(None, case_sensitive=False),
    limit: int = typer.Option(100),
    as_json: bool = JsonOption,
) -> None:
    emit(context.me().recordings(status=status, limit=limit), as_json, COLUMNS)


@recordings_app.command("show")
def show(recording_id: str, as_json: bool = JsonOption) -> None:
    emit(context.me().recording(recording_id), as_json)


@recordings_app.command("stages")
def stages(recording_id: str, as_json: bool = JsonOption) -> None:
    emit(context.me().stages(recording_id), as_json, ["stage", "status", "started_at", "elapsed_s", "error"])


@recordings_app.command("retry")
def retry(recording_ids: list[str], as_json: bool = JsonOption) -> None:
    """Continue FAILED recordings from the stage that failed."""
    emit(context.me().retry(recording_ids), as_json, ["recording_id", "first_stage"])


@recordings_app.command("reset")
def reset(recording_id: str, as_json: bool = JsonOption) -> None:
    """Return a FAILED, SKIPPED or UPLOADED recording to INITIALIZED (audited)."""
    emit(context.me().reset(recording_id), as_json)


@audit_app.command("list")
def audit_list(
    action: str | None = typer.Option(None, help="e.g. recording.retry, or recording.* for a family."),
    since: datetime | None = typer.Option(None),
    until: datetime | None = typer.Option(None),
    limit: int = typer.Option(100),
    as_json: bool = JsonOption,
) -> None:
    emit(context.me().activity(action, since, until, limit), as_json,
         ["ts", "actor", "action", "resource_type", "resource_id", "result", "origin"])
