"""Automation jobs: a user's schedule for one template, evaluated unattended, with a history the user reads.

A job never starts pipeline work itself: a run syncs the template's sources, picks its INITIALIZED
recordings and writes run requests (reason "automation") for the launcher, like every other action.
Schedules are evaluated in wall-clock time of their own timezone, so "daily at 06:00 Europe/Berlin" stays
06:00 across DST changes; a time that does not exist that day (spring forward) runs at the shifted time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from leap_core import audit, recordings, templates, usage
from leap_core.audit import Actor
from leap_core.config import Settings, default_quotas
from leap_core.db.models import (
    AutomationJob,
    AutomationRun,
    ProcessingStage,
    Recording,
    RunRequest,
    Source,
    Template,
)
from leap_core.db.session import Database
from leap_core.errors import QuotaExceededError, ValidationError
from leap_core.notifications.events import automation_finished, notify
from leap_core.quotas import EffectiveQuotas, effective_quotas_for
from leap_core.sources.sync import CredentialReader, sync_sources
from leap_core.stages import DOWNLOAD
from leap_core.states import RecordingStatus

log = logging.getLogger(__name__)

Trigger = Literal["schedule", "manual"]
SCHEDULE_KINDS = ("daily", "hours", "weekdays", "cron")
PERIOD_SAMPLE = 500
"""Fires examined to find a cron expression's shortest gap: covers a year of daily or weekly schedules."""
EVALUATION_SLACK = timedelta(minutes=2)
"""A scheduled tick lands a little after its instant; without slack a 24 h job with a 24 h minimum would
be "too frequent" whenever today's tick ran a few seconds earlier than yesterday's."""
_REFERENCE = datetime(2024, 1, 1)
SCHEDULE_ACTOR = Actor("automation", origin="schedule")
COUNTS = ("status", "found", "matched", "launched", "skipped_by_quota")


# schedules -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """A validated schedule: its stored config, the equivalent cron expression, and its timezone."""

    config: dict[str, Any]
    cron: str
    timezone: ZoneInfo
    nominal_period_h: float | None = None

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> Schedule:
        kind = config.get("type")
        tz = templates.zone(config.get("timezone") or "UTC")
        clean: dict[str, Any] = {"type": kind, "timezone": tz.key}
        if kind == "daily":
            at = templates.parse_clock(config.get("time"), "time")
            clean["time"] = at.strftime("%H:%M")
            return cls(clean, f"{at.minute} {at.hour} * * *", tz)
        if kind == "hours":
            every = config.get("every")
            if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 24:
                raise ValidationError(f"an hours schedule runs every N hours with N in 1-24, got {every!r}")
            clean["every"] = every
            return cls(clean, f"0 0-23/{every} * * *", tz, nominal_period_h=float(every))
        if kind == "weekdays":
            days = config.get("days")
            if not days or not all(isinstance(d, int) and 1 <= d <= 7 for d in days):
                raise ValidationError("a weekdays schedule needs ISO days: 1 = Monday … 7 = Sunday")
            at = templates.parse_clock(config.get("time"), "time")
            clean.update(days=sorted(set(days)), time=at.strftime("%H:%M"))
            cron_days = ",".join(str(d % 7) for d in clean["days"])
            return cls(clean, f"{at.minute} {at.hour} * * {cron_days}", tz)
        if kind == "cron":
            expression = str(config.get("expression") or "").strip()
            if len(expression.split()) != 5 or not croniter.is_valid(expression):
                raise ValidationError(f"not a valid five-field cron expression: {expression!r}")
            clean["expression"] = expression
            return cls(clean, expression, tz)
        raise ValidationError(f"unknown schedule type {kind!r}; use one of {', '.join(SCHEDULE_KINDS)}")

    def next_after(self, moment: datetime) -> datetime:
        """The first fire strictly after `moment` (aware), in UTC."""
        local = moment.astimezone(self.timezone).replace(tzinfo=None)
        fires = croniter(self.cron, local)
        while True:
            candidate = fires.get_next(datetime).replace(tzinfo=self.timezone).astimezone(UTC)
            if candidate > moment:
                return candidate

    @property
    def period_hours(self) -> float:
        """The shortest wall-clock gap between two fires (an hours schedule counts as its N)."""
        if self.nominal_period_h is not None:
            return self.nominal_period_h
        fires = croniter(self.cron, _REFERENCE)
        previous = fires.get_next(datetime)
        shortest = timedelta.max
        for _ in range(PERIOD_SAMPLE):
            current = fires.get_next(datetime)
            shortest = min(shortest, current - previous)
            previous = current
        return shortest.total_seconds() / 3600

    def wall_clock_gap(self, earlier: datetime, later: datetime) -> timedelta:
        """Time between two instants as the job's clock shows it: a DST change does not shorten a day."""
        return later.astimezone(self.timezone).replace(tzinfo=None) - earlier.astimezone(self.timezone).replace(
            tzinfo=None
        )


# quotas --------------------------------------------------------------------------------------------


def quotas_of(session: Session, user_id: str) -> EffectiveQuotas:
    return effective_quotas_for(session, [user_id], default_quotas())[user_id]


def check_job_count(session: Session, user_id: str, quotas: EffectiveQuotas) -> None:
    """Count the user's jobs under the user's usage lock, so the count and the insert after it are one step.

    Without the lock twenty concurrent creates against a limit of 3 all counted 0-2 and 15 were saved;
    with it each create waits for the previous one's commit and counts its job (PostgreSQL; SQLite
    serializes writers itself).
    """
    limit = quotas.max_automation_jobs
    if limit is None:
        return
    usage.lock_user(session, user_id)
    count = session.scalar(select(func.count()).select_from(AutomationJob).where(AutomationJob.user_id == user_id))
    if (count or 0) >= limit:
        raise QuotaExceededError("max_automation_jobs", limit, count or 0,
                                 f"you already have {count} automation job(s), the most your plan allows")


def check_period(schedule: Schedule, quotas: EffectiveQuotas) -> None:
    minimum = quotas.min_automation_interval_hours
    if minimum is not None and schedule.period_hours < minimum:
        raise QuotaExceededError(
            "min_automation_interval_hours", minimum, schedule.period_hours,
            f"this schedule can run every {schedule.period_hours:g} h; your plan allows at most one run "
            f"every {minimum:g} h",
        )


# jobs ----------------------------------------------------------------------------------------------


def job_view(job: AutomationJob, template_name: str | None = None) -> dict[str, Any]:
    return {"id": job.id, "name": job.name, "template_id": job.template_id, "template": template_name,
            "schedule": job.schedule, "enabled": job.enabled, "last_run_at": job.last_run_at,
            "next_run_at": job.next_run_at}


def _audited(view: Mapping[str, Any]) -> dict[str, Any]:
    """Audit details are JSON: instants as ISO text."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in view.items()}


def _wait_for_job(session: Session, actor: Actor, template: Template) -> None:
    """A job-driven template's recordings wait for the job: "daily at 06:00" must mean processing at 06:00."""
    if template.process_on_arrival:
        template.process_on_arrival = False
        audit.record(session, actor, "template.update", "template", template.id, user_id=template.user_id,
                     details={"before": {"process_on_arrival": True}, "after": {"process_on_arrival": False},
                              "cause": "driven by an automation job"})


def create_job(
    session: Session, actor: Actor, template: Template, name: str, schedule: Mapping[str, Any],
    enabled: bool, now: datetime,
) -> AutomationJob:
    parsed = Schedule.parse(schedule)
    quotas = quotas_of(session, template.user_id)
    check_job_count(session, template.user_id, quotas)
    check_period(parsed, quotas)
    job = AutomationJob(user_id=template.user_id, template_id=template.id, name=name, schedule=parsed.config,
                        enabled=enabled, next_run_at=parsed.next_after(now) if enabled else None)
    session.add(job)
    session.flush()
    _wait_for_job(session, actor, template)
    audit.record(session, actor, "automation.create", "automation_job", job.id, user_id=job.user_id,
                 details=_audited(job_view(job, template.name)))
    return job


def update_job(
    session: Session, actor: Actor, job: AutomationJob, now: datetime, *, template: Template | None = None,
    schedule: Mapping[str, Any] | None = None, enabled: bool | None = None,
) -> AutomationJob:
    before = _audited(job_view(job))
    parsed = Schedule.parse(schedule if schedule is not None else job.schedule)
    check_period(parsed, quotas_of(session, job.user_id))
    if template is not None:
        job.template_id = template.id
        _wait_for_job(session, actor, template)
    if enabled is not None:
        job.enabled = enabled
    job.schedule = parsed.config
    job.next_run_at = parsed.next_after(now) if job.enabled else None
    job.updated_at = now
    session.flush()
    after = _audited(job_view(job))
    audit.record(session, actor, "automation.update", "automation_job", job.id, user_id=job.user_id,
                 details={"before": {k: v for k, v in before.items() if after[k] != v},
                          "after": {k: v for k, v in after.items() if before[k] != v}})
    return job


def delete_job(session: Session, actor: Actor, job: AutomationJob) -> None:
    audit.record(session, actor, "automation.delete", "automation_job", job.id, user_id=job.user_id,
                 details=_audited(job_view(job)))
    session.delete(job)


# runs ----------------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    job_id: str
    job_name: str
    trigger: str
    status: str = "completed"
    dry_run: bool = False
    found: int = 0
    matched: int = 0
    launched: int = 0
    skipped_by_quota: int = 0
    reason: str | None = None
    recording_ids: list[str] = field(default_factory=list)
    new_partition_keys: list[str] = field(default_factory=list)
    source_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job_name, "job_id": self.job_id, "trigger": self.trigger, "status": self.status,
                "dry_run": self.dry_run, "found": self.found, "matched": self.matched, "launched": self.launched,
                "skipped_by_quota": self.skipped_by_quota, "reason": self.reason,
                "recording_ids": self.recording_ids, "source_errors": self.source_errors}


def template_sources(session: Session, template: Template) -> list[str]:
    """The sources a template draws from: its `source_ids` rule, else all of the user's enabled sources."""
    stmt = select(Source.id).where(Source.user_id == template.user_id, Source.enabled.is_(True))
    wanted = (template.rules or {}).get("source_ids")
    if wanted:
        stmt = stmt.where(Source.id.in_(wanted))
    return list(session.scalars(stmt.order_by(Source.id)))


def eligible_recordings(session: Session, template: Template) -> list[Recording]:
    """INITIALIZED recordings of the template with no run asked for yet; known-blank ones left out if asked."""
    stmt = select(Recording).where(
        Recording.template_id == template.id, Recording.status == RecordingStatus.INITIALIZED,
        Recording.deleted_at.is_(None),
        ~exists().where(RunRequest.recording_id == Recording.id, RunRequest.status.in_(("pending", "submitted"))),
    )
    if template.exclude_blank:
        stmt = stmt.where(~exists().where(ProcessingStage.recording_id == Recording.id,
                                          ProcessingStage.stage == "trim", ProcessingStage.status == "skipped"))
    return list(session.scalars(stmt.order_by(Recording.recorded_at)))


def too_frequent(job: AutomationJob, schedule: Schedule, quotas: EffectiveQuotas, now: datetime) -> datetime | None:
    """When the job may run next if `now` is earlier than last_run_at + the minimum interval, else None."""
    minimum = quotas.min_automation_interval_hours
    if minimum is None or job.last_run_at is None:
        return None
    interval = timedelta(hours=minimum)
    if schedule.wall_clock_gap(job.last_run_at, now) + EVALUATION_SLACK >= interval:
        return None
    return job.last_run_at + interval


def run_job(
    db: Database, actor: Actor, settings: Settings, job_id: str, trigger: Trigger, now: datetime,
    dry_run: bool = False, credentials: CredentialReader | None = None,
) -> RunSummary:
    """One run of a job: sync, select, request runs, record the history. A dry run only reads."""
    with db.session() as session:
        job, template = _load(session, job_id)
        summary = RunSummary(job.id, job.name, trigger, dry_run=dry_run)
        schedule = Schedule.parse(job.schedule)
        quotas = quotas_of(session, job.user_id)
        allowed_at = too_frequent(job, schedule, quotas, now)
        source_ids = template_sources(session, template)
        if allowed_at is not None:
            summary.status, summary.reason = "skipped", f"too frequent: next run allowed at {allowed_at.isoformat()}"
            summary.skipped_by_quota = summary.matched = len(eligible_recordings(session, template))
            if not dry_run:
                _finish(session, actor, job, schedule, summary, now)
            return summary
    if not dry_run:
        for synced in sync_sources(db, actor, settings, source_ids, credentials):
            summary.found += len(synced.registered)
            summary.skipped_by_quota += synced.over_quota
            summary.new_partition_keys += synced.registered
            if synced.error:
                summary.source_errors.append(f"{synced.source_name}: {synced.error}")
    with db.session() as session:
        job, template = _load(session, job_id)
        rows = eligible_recordings(session, template)
        summary.matched = len(rows)
        summary.recording_ids = [r.id for r in rows]
        if dry_run:
            summary.reason = f"would sync {len(source_ids)} source(s) first; nothing was changed"
            return summary
        for recording in rows:
            recordings.request_run(session, recording, DOWNLOAD.name, "automation", actor, automation_job_id=job.id)
        summary.launched = len(rows)
        summary.status = "partial" if summary.source_errors else "completed"
        _finish(session, actor, job, schedule, summary, now)
    return summary


def _load(session: Session, job_id: str) -> tuple[AutomationJob, Template]:
    job = session.get(AutomationJob, job_id)
    template = session.get(Template, job.template_id) if job else None
    if job is None or template is None:
        raise ValidationError(f"automation job {job_id} or its template no longer exists")
    return job, template


def _finish(session: Session, actor: Actor, job: AutomationJob, schedule: Schedule, summary: RunSummary,
            now: datetime) -> None:
    """History row, audit record, and the job's run times; a skipped run does not move last_run_at."""
    details = summary.as_dict()
    run = AutomationRun(job_id=job.id, trigger=summary.trigger, status=summary.status, summary=details,
                        started_at=now)
    session.add(run)
    session.flush()
    notify(session, job.user_id, automation_finished(job.id, job.name, run.id, summary.status != "completed",
                                                     {k: details[k] for k in COUNTS}))
    if summary.status != "skipped":
        job.last_run_at = now
    if summary.trigger == "schedule":
        job.next_run_at = schedule.next_after(now)
    result: audit.Result = "success" if summary.status == "completed" else (
        "partial" if summary.status == "partial" else "failure")
    audit.record(session, actor, "automation.run", "automation_job", job.id, user_id=job.user_id,
                 details=details, result=result)


def due_jobs(session: Session, now: datetime) -> list[str]:
    return list(session.scalars(select(AutomationJob.id).where(
        AutomationJob.enabled.is_(True), AutomationJob.next_run_at <= now).order_by(AutomationJob.next_run_at)))


def run_due(
    db: Database, settings: Settings, now: datetime, actor: Actor = SCHEDULE_ACTOR,
    credentials: CredentialReader | None = None,
) -> list[RunSummary]:
    """Every enabled job whose next_run_at has come; one bad job is logged and does not stop the others.

    A job whose instant was missed (the daemon was down) runs once, then resumes its schedule from now.
    """
    with db.session() as session:
        ids = due_jobs(session, now)
    summaries: list[RunSummary] = []
    for job_id in ids:
        try:
            summaries.append(run_job(db, actor, settings, job_id, "schedule", now, credentials=credentials))
        except ValidationError as exc:
            log.warning("automation job %s could not run: %s", job_id, exc)
    return summaries


def history(session: Session, job_id: str, limit: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(AutomationRun).where(AutomationRun.job_id == job_id)
                           .order_by(AutomationRun.id.desc()).limit(limit))
    return [{"id": r.id, "trigger": r.trigger, "status": r.status, "started_at": r.started_at, **{
        k: r.summary.get(k) for k in (*COUNTS[1:], "reason")}} for r in rows]


def next_runs(schedule: Mapping[str, Any], after: datetime, count: int) -> list[datetime]:
    """The next `count` fire instants: what `leap automation show` prints so a user can check a schedule."""
    parsed, fires, moment = Schedule.parse(schedule), [], after
    for _ in range(count):
        moment = parsed.next_after(moment)
        fires.append(moment)
    return fires

