"""`leap automation …`: a user's schedules for their templates, run unattended by Dagster."""

from __future__ import annotations

from typing import Any

import typer

from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit
from leap_core.errors import ValidationError

app = typer.Typer(help="Scheduled processing of a template's recordings.", no_args_is_help=True)
COLUMNS = ["id", "name", "template", "schedule", "enabled", "last_run_at", "next_run_at"]
RUN_COLUMNS = ["job", "status", "found", "matched", "launched", "skipped_by_quota", "reason"]
HISTORY_COLUMNS = ["id", "trigger", "status", "started_at", "finished_at", "found", "matched", "launched",
                   "skipped_by_quota", "reason"]

Daily = typer.Option(None, "--daily", help="Every day at HH:MM.")
Hours = typer.Option(None, "--hours", help="Every N hours (1-24), counted from midnight.")
Weekdays = typer.Option(None, "--weekdays", help="ISO days or names, e.g. 1,3,5 or mon,wed (1 = Monday), with --at.")
At = typer.Option(None, "--at", help="HH:MM for --weekdays.")
Cron = typer.Option(None, "--cron", help="A five-field cron expression.")
Timezone = typer.Option("UTC", "--timezone", help="IANA timezone the schedule is read in.")


def schedule_from(daily: str | None, hours: int | None, weekdays: str | None, at: str | None, cron: str | None,
                  timezone: str) -> dict[str, Any]:
    """Exactly one of the schedule options, as the schedule config the API validates."""
    given = [k for k, v in {"--daily": daily, "--hours": hours, "--weekdays": weekdays, "--cron": cron}.items()
             if v is not None]
    if len(given) != 1:
        raise ValidationError("give exactly one of --daily, --hours, --weekdays (with --at) or --cron")
    if daily is not None:
        return {"type": "daily", "time": daily, "timezone": timezone}
    if hours is not None:
        return {"type": "hours", "hours": hours, "timezone": timezone}
    if weekdays is not None:
        days: list[int | str] = [int(d) if d.strip().isdigit() else d.strip() for d in weekdays.split(",")
                                 if d.strip()]
        return {"type": "weekdays", "days": days, "time": at, "timezone": timezone}
    return {"type": "cron", "expression": cron, "timezone": timezone}


@app.command("add")
def add(
    name: str,
    template: str = typer.Option(..., help="The template (name or id) whose recordings the job processes."),
    daily: str | None = Daily, hours: int | None = Hours, weekdays: str | None = Weekdays, at: str | None = At,
    cron: str | None = Cron, timezone: str = Timezone,
    disabled: bool = typer.Option(False, "--disabled", help="Create it switched off."),
    as_json: bool = JsonOption,
) -> None:
    """Create a job; its template stops processing on arrival, so recordings wait for the job."""
    schedule = schedule_from(daily, hours, weekdays, at, cron, timezone)
    emit(context.me().automation.create(name, template, schedule, enabled=not disabled), as_json, COLUMNS)


@app.command("update")
def update(
    job: str,
    template: str | None = typer.Option(None, help="Switch the job to another template."),
    daily: str | None = Daily, hours: int | None = Hours, weekdays: str | None = Weekdays, at: str | None = At,
    cron: str | None = Cron, timezone: str = Timezone,
    as_json: bool = JsonOption,
) -> None:
    """Change a job's schedule or template (its Dagster schedule follows within a minute)."""
    schedule = (schedule_from(daily, hours, weekdays, at, cron, timezone)
                if any(v is not None for v in (daily, hours, weekdays, cron)) else None)
    emit(context.me().automation.update(job, schedule=schedule, template=template), as_json, COLUMNS)


@app.command("list")
def list_jobs(as_json: bool = JsonOption) -> None:
    emit(context.me().automation.list(), as_json, COLUMNS)


@app.command("show")
def show(job: str, as_json: bool = JsonOption) -> None:
    """The job, its next five run times and its latest runs."""
    emit(context.me().automation.show(job), as_json)


@app.command("history")
def history(job: str, limit: int = typer.Option(20), as_json: bool = JsonOption) -> None:
    emit(context.me().automation.history(job, limit), as_json, HISTORY_COLUMNS)


@app.command("enable")
def enable(job: str, as_json: bool = JsonOption) -> None:
    emit(context.me().automation.enable(job), as_json, COLUMNS)


@app.command("disable")
def disable(job: str, as_json: bool = JsonOption) -> None:
    emit(context.me().automation.disable(job), as_json, COLUMNS)


@app.command("delete")
def delete(job: str) -> None:
    context.me().automation.delete(job)
    typer.echo(f"deleted automation job {job}")


@app.command("run")
def run(job: str, as_json: bool = JsonOption) -> None:
    """Run now (the minimum interval between runs still applies)."""
    emit(context.me().automation.run(job), as_json, RUN_COLUMNS)


@app.command("dry-run")
def dry_run(job: str, as_json: bool = JsonOption) -> None:
    """What a run would select now; changes nothing and does not count as a run."""
    emit(context.me().automation.dry_run(job), as_json, RUN_COLUMNS)
