"""Automation jobs: a user's schedule for one template, evaluated unattended, with a history the user reads.

A job never starts pipeline work itself: a run syncs the template's sources, picks its INITIALIZED
recordings and writes run requests (reason "automation") for the launcher, like every other action.
Schedules are evaluated in wall-clock time of their own timezone, so "daily at 06:00 Europe/Berlin" stays
06:00 across DST changes; a time that does not exist that day (spring forward) runs at the shifted time.

In Dagster each enabled job is one schedule (`schedule_specs`, ADR 0030); every change to a job bumps
`automation_revision` in the same transaction, which is how the code location knows to reload.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from leap_core import audit, naming, recordings, templates, usage
from leap_core.audit import Actor
from leap_core.config import Settings, default_quotas
from leap_core.db.models import (
    AutomationJob,
    AutomationRevision,
    AutomationRun,
    ProcessingStage,
    Recording,
    RunRequest,
    Source,
    Template,
    User,
)
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.errors import LeapError, QuotaExceededError, ValidationError
from leap_core.naming import checked_name
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
MAX_WEEKDAY_ENTRIES = 7
MAX_CRON_LENGTH = 100
WEEKDAY_NAMES = {name: iso for iso, names in enumerate(
    (("mon", "monday"), ("tue", "tuesday"), ("wed", "wednesday"), ("thu", "thursday"), ("fri", "friday"),
     ("sat", "saturday"), ("sun", "sunday")), start=1) for name in names}
RUN_STATUSES = ("started", "completed", "partial", "skipped", "failed")
"""An automation run's row is written "started" before any work and moves to one of the others once."""


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
        """Validate a schedule as saved: every refusal is a ValidationError with a one-line reason."""
        if not isinstance(config, Mapping):
            raise ValidationError("a schedule is an object such as {\"type\": \"daily\", \"time\": \"06:00\"}")
        kind = config.get("type")
        tz = templates.zone(config.get("timezone") or "UTC")
        clean: dict[str, Any] = {"type": kind, "timezone": tz.key}
        if kind == "daily":
            at = templates.parse_clock(config.get("time"), "time")
            clean["time"] = at.strftime("%H:%M")
            return cls(clean, f"{at.minute} {at.hour} * * *", tz)
        if kind == "hours":
            every = _hours_of(config)
            clean["hours"] = every
            return cls(clean, f"0 0-23/{every} * * *", tz, nominal_period_h=float(every))
        if kind == "weekdays":
            days = _weekdays_of(config.get("days"))
            at = templates.parse_clock(config.get("time"), "time")
            clean.update(days=days, time=at.strftime("%H:%M"))
            cron_days = ",".join(str(d % 7) for d in days)
            return cls(clean, f"{at.minute} {at.hour} * * {cron_days}", tz)
        if kind == "cron":
            expression = _cron_of(config.get("expression"))
            clean["expression"] = expression
            return cls(clean, expression, tz)
        raise ValidationError(f"unknown schedule type {str(kind)[:40]!r}; use one of {', '.join(SCHEDULE_KINDS)}")

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


def _hours_of(config: Mapping[str, Any]) -> int:
    """N of an hours schedule: the specification's `hours` key, or `every` (what LEAP stored before)."""
    every = config.get("hours", config.get("every"))
    if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 24:
        raise ValidationError(f"an hours schedule runs every N hours with N in 1-24 (\"hours\": 6), got {every!r}")
    return every


def _weekdays_of(days: object) -> list[int]:
    """ISO days (1 = Monday … 7 = Sunday) or English names, de-duplicated and sorted.

    `True` is an int to Python, so booleans are refused by name; a list longer than a week is refused
    before anything else is read (a 7,000-entry list was accepted before).
    """
    if not isinstance(days, list | tuple) or not days:
        raise ValidationError("a weekdays schedule needs a list of days: ISO numbers 1 = Monday … 7 = Sunday, "
                              "or names such as \"mon\"")
    if len(days) > MAX_WEEKDAY_ENTRIES:
        raise ValidationError(f"a weekdays schedule lists at most {MAX_WEEKDAY_ENTRIES} days, got {len(days)}")
    parsed: set[int] = set()
    for day in days:
        if isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 7:
            parsed.add(day)
        elif isinstance(day, str) and day.strip().lower() in WEEKDAY_NAMES:
            parsed.add(WEEKDAY_NAMES[day.strip().lower()])
        else:
            raise ValidationError(f"{str(day)[:20]!r} is not a weekday: use ISO numbers 1 = Monday … 7 = Sunday "
                                  "or names such as \"mon\"")
    return sorted(parsed)


def _cron_of(value: object) -> str:
    """A five-field expression that fires at least once (`0 0 30 2 *` is valid syntax but never fires)."""
    expression = str(value or "").strip()
    if len(expression) > MAX_CRON_LENGTH or len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValidationError(f"not a valid five-field cron expression: {expression[:40]!r}")
    try:
        croniter(expression, _REFERENCE).get_next(datetime)
    except CroniterError:
        raise ValidationError(f"the cron expression {expression!r} never fires (no such date)") from None
    return expression


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
    name = checked_name(name, "automation job")
    parsed = Schedule.parse(schedule)
    quotas = quotas_of(session, template.user_id)
    check_job_count(session, template.user_id, quotas)
    check_period(parsed, quotas)
    job = AutomationJob(user_id=template.user_id, template_id=template.id, name=name, schedule=parsed.config,
                        enabled=enabled, next_run_at=parsed.next_after(now) if enabled else None)
    session.add(job)
    session.flush()
    _wait_for_job(session, actor, template)
    bump_revision(session)
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
    bump_revision(session)
    after = _audited(job_view(job))
    audit.record(session, actor, "automation.update", "automation_job", job.id, user_id=job.user_id,
                 details={"before": {k: v for k, v in before.items() if after[k] != v},
                          "after": {k: v for k, v in after.items() if before[k] != v}})
    return job


def delete_job(session: Session, actor: Actor, job: AutomationJob) -> None:
    audit.record(session, actor, "automation.delete", "automation_job", job.id, user_id=job.user_id,
                 details=_audited(job_view(job)))
    session.delete(job)
    bump_revision(session)


# the Dagster schedules' inputs ------------------------------------------------------------------------


REVISION_ROW = 1


def bump_revision(session: Session) -> None:
    """Count one change to the set of jobs, in the caller's transaction (so a rolled-back change counts none).

    An UPDATE first: on PostgreSQL it takes the row lock, so concurrent changes each add one. The row is
    created by migration 0017; the INSERT only covers a schema made some other way.
    """
    changed = session.execute(update(AutomationRevision).where(AutomationRevision.id == REVISION_ROW)
                              .values(revision=AutomationRevision.revision + 1, changed_at=utcnow()))
    if not getattr(changed, "rowcount", 0):
        session.add(AutomationRevision(id=REVISION_ROW, revision=1, changed_at=utcnow()))
    session.flush()


def current_revision(session: Session) -> int:
    return session.scalar(select(AutomationRevision.revision).where(AutomationRevision.id == REVISION_ROW)) or 0


@dataclass(frozen=True)
class ScheduleSpec:
    """What one Dagster schedule is made of; `leap_dagster` turns it into a ScheduleDefinition."""

    name: str
    job_id: str
    job_name: str
    user_id: str
    user_slug: str
    cron: str
    timezone: str
    description: str

    @property
    def tags(self) -> dict[str, str]:
        return {"leap/user": self.user_id, "leap/user_slug": self.user_slug, "leap/automation_job": self.job_id,
                "leap/automation_job_name": self.job_name}


def schedule_name(user_part: str, job_name: str) -> str:
    """`<user slug>__<job slug>` in the characters Dagster allows in a name (letters, digits, `_`);
    `user_part` is the user's slug already slugified (one user's jobs share it)."""
    return f"{user_part}__{naming.slugify(job_name, 'job')}".replace("-", "_")


def describe(schedule: Schedule) -> str:
    config = schedule.config
    kind = config["type"]
    where = config["timezone"]
    if kind == "daily":
        return f"daily at {config['time']} {where}"
    if kind == "hours":
        return f"every {config['hours']} h from midnight {where}"
    if kind == "weekdays":
        names = ", ".join(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d - 1] for d in config["days"])
        return f"{names} at {config['time']} {where}"
    return f"cron {config['expression']} {where}"


def schedule_specs(session: Session) -> tuple[list[ScheduleSpec], list[str]]:
    """Every enabled job as a schedule spec, plus one line per job left out (a stored schedule that no
    longer parses must cost that job its schedule, not the whole code location its load)."""
    # Plain columns, not `AutomationJob` entities: at 1,000 jobs building the ORM objects cost more than
    # the query itself (bench/README.md, "specs (query + ORM + names)").
    rows = session.execute(
        select(AutomationJob.id, AutomationJob.name, AutomationJob.user_id, AutomationJob.schedule, User.slug,
               Template.name)
        .join(User, User.id == AutomationJob.user_id).join(Template, Template.id == AutomationJob.template_id)
        .where(AutomationJob.enabled.is_(True)).order_by(User.slug, AutomationJob.name)).all()
    specs: list[ScheduleSpec] = []
    skipped: list[str] = []
    taken: set[str] = set()
    parsed_by_config: dict[str, Schedule | ValidationError] = {}  # jobs share schedules; croniter is slow
    slugs: dict[str, str] = {}  # one user's jobs share its slug's part of the name
    for job_id, job_name, user_id, stored, user_slug, template_name in rows:
        key = json.dumps(stored, sort_keys=True, default=str)
        if key not in parsed_by_config:
            try:
                parsed_by_config[key] = Schedule.parse(stored)
            except ValidationError as exc:
                parsed_by_config[key] = exc
        parsed = parsed_by_config[key]
        if isinstance(parsed, ValidationError):
            skipped.append(f"{user_slug}/{job_name}: {parsed}")
            continue
        if user_slug not in slugs:
            slugs[user_slug] = naming.slugify(user_slug, "user")
        name = schedule_name(slugs[user_slug], job_name)
        if name in taken:  # two names that slug alike ("Mornings", "mornings!")
            name = f"{name}_{job_id[-6:].lower()}"
        taken.add(name)
        specs.append(ScheduleSpec(
            name=name, job_id=job_id, job_name=job_name, user_id=user_id, user_slug=user_slug, cron=parsed.cron,
            timezone=parsed.timezone.key,
            description=f"{user_slug}'s job {job_name!r}: template {template_name!r}, {describe(parsed)}",
        ))
    return specs, skipped


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
    run_id: int | None = None
    recording_ids: list[str] = field(default_factory=list)
    new_partition_keys: list[str] = field(default_factory=list)
    source_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job_name, "job_id": self.job_id, "trigger": self.trigger, "status": self.status,
                "dry_run": self.dry_run, "found": self.found, "matched": self.matched, "launched": self.launched,
                "skipped_by_quota": self.skipped_by_quota, "reason": self.reason, "run_id": self.run_id,
                "recording_ids": self.recording_ids, "source_errors": self.source_errors}

    @property
    def failed(self) -> bool:
        """A run that could not do all it was asked: its owner is notified and its Dagster run fails."""
        return self.status in ("failed", "partial")


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
    dry_run: bool = False, credentials: CredentialReader | None = None, dagster_run_id: str | None = None,
) -> RunSummary:
    """One run of a job: start record, sync, select, request runs, finish record. A dry run only reads.

    Every real run leaves one `automation_runs` row (written "started" before any work, so a crash still
    shows) and two audit records. A run that cannot proceed (too frequent, or a scheduled tick of a job
    disabled since the schedule was loaded) is a skip, not a failure; a source that fails to sync, or any
    error, fails the run, which notifies the owner. An unexpected error is recorded, then re-raised.
    """
    if dry_run:
        return _dry_run(db, job_id, trigger)
    began = time.monotonic()
    with db.session() as session:
        job, template = _load(session, job_id)
        run = AutomationRun(job_id=job.id, trigger=trigger, status="started", started_at=now, summary={},
                            dagster_run_id=dagster_run_id)
        session.add(run)
        session.flush()
        summary = RunSummary(job.id, job.name, trigger, run_id=run.id)
        audit.record(session, actor, "automation.run_start", "automation_job", job.id, user_id=job.user_id,
                     details={"run_id": run.id, "trigger": trigger, "dagster_run_id": dagster_run_id})
        schedule = Schedule.parse(job.schedule)
        skip = _skip_reason(session, job, schedule, trigger, now)
        source_ids = template_sources(session, template)
        if skip is not None:
            summary.status, summary.reason = "skipped", skip
            summary.skipped_by_quota = summary.matched = len(eligible_recordings(session, template))
            _finish(session, actor, job, run, schedule, summary, now, began)
            return summary
    try:
        _sync_and_request(db, actor, settings, job_id, source_ids, summary, credentials)
    except Exception as exc:
        summary.status, summary.reason = "failed", _one_line(exc)
        with db.session() as session:
            job, _ = _load(session, job_id)
            _finish(session, actor, job, session.get_one(AutomationRun, run.id), schedule, summary, now, began)
        if isinstance(exc, LeapError):
            return summary
        raise
    with db.session() as session:
        job, _ = _load(session, job_id)
        _finish(session, actor, job, session.get_one(AutomationRun, run.id), schedule, summary, now, began)
    return summary


def _skip_reason(session: Session, job: AutomationJob, schedule: Schedule, trigger: Trigger,
                 now: datetime) -> str | None:
    if trigger == "schedule" and not job.enabled:
        return "disabled in LEAP (`leap automation enable` switches it back on); Dagster's schedule goes away " \
               "on the next code location reload"
    allowed_at = too_frequent(job, schedule, quotas_of(session, job.user_id), now)
    if allowed_at is not None:
        return f"too frequent: next run allowed at {allowed_at.isoformat()}"
    return None


def _sync_and_request(db: Database, actor: Actor, settings: Settings, job_id: str, source_ids: list[str],
                      summary: RunSummary, credentials: CredentialReader | None) -> None:
    synced_all = sync_sources(db, actor, settings, source_ids, credentials)
    for synced in synced_all:
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
        for recording in rows:
            recordings.request_run(session, recording, DOWNLOAD.name, "automation", actor, automation_job_id=job.id)
        summary.launched = len(rows)
    if summary.source_errors:
        every_source_failed = len(summary.source_errors) == len(synced_all)
        summary.status = "failed" if every_source_failed else "partial"
        summary.reason = f"{len(summary.source_errors)} of {len(synced_all)} source(s) failed to sync: " + \
            "; ".join(summary.source_errors)


def _dry_run(db: Database, job_id: str, trigger: Trigger) -> RunSummary:
    with db.session() as session:
        job, template = _load(session, job_id)
        rows = eligible_recordings(session, template)
        summary = RunSummary(job.id, job.name, trigger, dry_run=True, matched=len(rows),
                             recording_ids=[r.id for r in rows])
        summary.reason = (f"would sync {len(template_sources(session, template))} source(s) first; "
                          "nothing was changed")
        return summary


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300] if isinstance(exc, LeapError) else f"{type(exc).__name__}: {text[:300]}"


def _load(session: Session, job_id: str) -> tuple[AutomationJob, Template]:
    job = session.get(AutomationJob, job_id)
    template = session.get(Template, job.template_id) if job else None
    if job is None or template is None:
        raise ValidationError(f"automation job {job_id} or its template no longer exists")
    return job, template


def _finish(session: Session, actor: Actor, job: AutomationJob, run: AutomationRun, schedule: Schedule,
            summary: RunSummary, now: datetime, began: float) -> None:
    """The run's row and audit record, the owner's notice, and the job's run times.

    A skipped run neither notifies (a skip is the plan working, not a fault) nor moves last_run_at.
    """
    details = summary.as_dict()
    run.status, run.summary = summary.status, details
    run.finished_at = now + timedelta(seconds=time.monotonic() - began)
    if summary.status != "skipped":
        notify(session, job.user_id, automation_finished(job.id, job.name, run.id, summary.failed,
                                                         {k: details[k] for k in COUNTS}))
        job.last_run_at = now
    if summary.trigger == "schedule" and job.enabled:
        job.next_run_at = schedule.next_after(now)
    result: audit.Result = ("failure" if summary.status == "failed" else "partial" if summary.status == "partial"
                            else "refused" if summary.status == "skipped" else "success")
    audit.record(session, actor, "automation.run", "automation_job", job.id, user_id=job.user_id,
                 details=details, result=result)
    if summary.failed:
        log.warning("automation job %s (%s) %s: %s", job.name, job.id, summary.status, summary.reason)


def started_runs(session: Session) -> dict[str, int]:
    """Rows still "started" that a Dagster run owns: {dagster run id: row id}, for the reconciler."""
    rows = session.execute(select(AutomationRun.dagster_run_id, AutomationRun.id).where(
        AutomationRun.status == "started", AutomationRun.dagster_run_id.is_not(None)))
    return {run_id: row_id for run_id, row_id in rows if run_id}


def abandon_runs(session: Session, actor: Actor, ended: Mapping[str, str]) -> list[int]:
    """Mark failed the "started" rows whose Dagster run ended (`ended`: run id → its final status).

    The run's process died before `_finish` (killed, out of memory, cancelled): without this the row
    would say "started" forever and its owner would never hear of the failure.
    """
    marked: list[int] = []
    rows = session.scalars(select(AutomationRun).where(
        AutomationRun.status == "started", AutomationRun.dagster_run_id.in_(list(ended))).with_for_update())
    for run in rows:
        job = session.get(AutomationJob, run.job_id)
        if job is None:
            continue
        reason = f"its Dagster run {run.dagster_run_id} ended ({ended[run.dagster_run_id or '']}) before it finished"
        summary = RunSummary(job.id, job.name, run.trigger, status="failed", reason=reason, run_id=run.id)
        run.status, run.summary, run.finished_at = "failed", summary.as_dict(), utcnow()
        notify(session, job.user_id, automation_finished(job.id, job.name, run.id, True,
                                                         {k: summary.as_dict()[k] for k in COUNTS}))
        audit.record(session, actor, "automation.run", "automation_job", job.id, user_id=job.user_id,
                     details=summary.as_dict(), result="failure")
        marked.append(run.id)
    return marked


def history(session: Session, job_id: str, limit: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(AutomationRun).where(AutomationRun.job_id == job_id)
                           .order_by(AutomationRun.id.desc()).limit(limit))
    return [{"id": r.id, "trigger": r.trigger, "status": r.status, "started_at": r.started_at,
             "finished_at": r.finished_at, "dagster_run_id": r.dagster_run_id,
             **{k: r.summary.get(k) for k in (*COUNTS[1:], "reason")}} for r in rows]


def next_runs(schedule: Mapping[str, Any], after: datetime, count: int) -> list[datetime]:
    """The next `count` fire instants: what `leap automation show` prints so a user can check a schedule."""
    parsed, fires, moment = Schedule.parse(schedule), [], after
    for _ in range(count):
        moment = parsed.next_after(moment)
        fires.append(moment)
    return fires

