"""One Dagster schedule per enabled automation job, built from the LEAP database when the code location
loads (ADR 0030, superseding ADR 0007's single evaluator sensor).

A schedule is named `<user slug>__<job slug>` and carries the job's cron, timezone, a description and
the tags `leap/user` and `leap/automation_job`; each tick runs `automation_run`. The database is read
once per load: if it is unreachable the location still loads, with no automation schedules and one log
line saying why, and `automation_reload_sensor` reloads it once the database answers. `enabled` in LEAP
stays the truth: a tick of a job disabled since the load is skipped with that reason.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
)
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from leap_core import automation
from leap_core.config import Settings
from leap_core.db.models import AutomationJob
from leap_core.db.session import Database
from leap_dagster.automation_run import automation_run
from leap_dagster.resources import LeapResource

log = logging.getLogger("leap.automation.schedules")
CONNECT_TIMEOUT_S = 5
"""How long a code location load waits for PostgreSQL before giving up on the schedules (not the load)."""


@dataclass
class Loaded:
    """What the last definitions build read: the reload sensor compares `revision` with the database's."""

    revision: int | None = None
    specs: list[automation.ScheduleSpec] = field(default_factory=list)
    error: str | None = None
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


LOADED = Loaded()


def read_specs(settings: Settings) -> Loaded:
    """The enabled jobs as schedule specs and the revision they are at; never raises.

    Uses its own short-lived engine with a connect timeout, and never creates the embedded SQLite file (a
    code location load is not the place to make a database appear); an existing embedded database behind
    the code is upgraded first, under the lock, by the same start-up rule every LEAP process follows
    (`Database.prepare`), so a `dagster dev` after a `git pull` loads its schedules.
    """
    began = time.monotonic()
    url = settings.resolved_database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or not Path(parsed.database).exists():
            return Loaded(error=f"no LEAP database yet at {parsed.database} (run `leap init`)")
        engine = create_engine(url, poolclass=NullPool)
        if settings.is_embedded:
            database = Database(url)
            try:
                database.prepare(embedded=True)
            except Exception as exc:  # the read below then reports the schema it found
                log.warning("could not upgrade the embedded database before loading schedules: %s", exc)
            finally:
                database.dispose()
    else:
        engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        with Session(engine) as session:
            revision = automation.current_revision(session)
            specs, skipped = automation.schedule_specs(session)
        return Loaded(revision, specs, None, skipped, time.monotonic() - began)
    except Exception as exc:  # an unreachable or un-migrated database must not fail the code location
        reason = " ".join(str(exc).split())[:300]
        return Loaded(error=f"{type(exc).__name__}: {reason}", seconds=time.monotonic() - began)
    finally:
        engine.dispose()


def loading_for_a_run() -> bool:
    """Whether Dagster is loading the definitions to execute a run or a step (`dagster api execute_run`,
    `execute_step`, the multiprocess and Celery executors' workers) rather than to serve them.

    Every such worker rebuilds its job from the code pointer through `ReconstructableRepository`, which
    sets Dagster's `DefinitionsLoadContext` to RECONSTRUCTION before it imports the module; the code server
    imports it under INITIALIZATION, and a plain import (tests, the CLI) sets none. The context is a
    private Dagster API (dagster/_core/definitions/definitions_load_context.py, 1.13), so an import that
    fails answers False: the worker then builds the schedules it did before, slower but correct.
    """
    try:
        from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext, DefinitionsLoadType
    except ImportError:  # pragma: no cover - a Dagster that moved it
        return False
    return (DefinitionsLoadContext.is_set()
            and DefinitionsLoadContext.get().load_type == DefinitionsLoadType.RECONSTRUCTION)


def load_automation_schedules(settings: Settings | None = None) -> list[ScheduleDefinition]:
    """Read the jobs and build their schedules; records what was read in `LOADED` for the reload sensor."""
    loaded = read_specs(settings or Settings())
    LOADED.__dict__.update(loaded.__dict__)
    if loaded.error:
        log.warning("automation schedules not loaded, so none are defined: %s; automation_reload_sensor "
                    "reloads the code location once the database answers", loaded.error)
        return []
    for line in loaded.skipped:
        log.warning("automation job left without a schedule: %s", line)
    log.info("loaded %d automation schedule(s) at revision %s in %.2f s", len(loaded.specs), loaded.revision,
             loaded.seconds)
    return [automation_schedule(spec) for spec in loaded.specs]


def automation_schedule(spec: automation.ScheduleSpec) -> ScheduleDefinition:
    """`ScheduleDefinition` with a plain `execution_fn` rather than `@schedule`: the decorator reads each
    function's type hints for resources, which made 1,000 schedules take 3 s to build instead of ~1 s.
    It names its job (`job_name`) instead of holding the `automation_run` object: `Definitions` rebuilds
    every schedule that holds a job it binds resources to (`with_updated_job`, a second full construction,
    cron checks included), which was 1.4 of 1.75 s of `Definitions` at 3,000 jobs; by name, the
    repository resolves the job once (bench/automation_schedules.py, ADR 0030 2026-12-03)."""

    def tick(context: ScheduleEvaluationContext):  # type: ignore[no-untyped-def]  # no hints to resolve
        return evaluate_tick(context, context.resources.leap, spec)

    return ScheduleDefinition(
        name=spec.name, cron_schedule=spec.cron, execution_timezone=spec.timezone, job_name=automation_run.name,
        execution_fn=tick, required_resource_keys={"leap"}, description=spec.description, tags=spec.tags,
        default_status=DefaultScheduleStatus.RUNNING, metadata={"leap/user": spec.user_slug, "leap/job": spec.job_name},
    )


def evaluate_tick(context: ScheduleEvaluationContext, leap: LeapResource,
                  spec: automation.ScheduleSpec) -> RunRequest | SkipReason:
    """A run of `automation_run` for this tick, unless LEAP says the job is gone or disabled.

    The run key is the job and the tick's instant, so a tick evaluated twice never runs the job twice.
    """
    with leap.get().db.session() as session:
        job = session.get(AutomationJob, spec.job_id)
        if job is None:
            return SkipReason(f"automation job {spec.job_name!r} was deleted; its schedule goes away on reload")
        if not job.enabled:
            return SkipReason(f"automation job {spec.job_name!r} is disabled in LEAP (`leap automation enable "
                              f"{spec.job_name}` switches it back on)")
    moment = context.scheduled_execution_time or datetime.now(UTC)
    scheduled_at = moment.astimezone(UTC).isoformat()
    return RunRequest(
        run_key=f"{spec.job_id}:{scheduled_at}",
        run_config={"ops": {"run_automation_job": {"config": {"job_id": spec.job_id, "scheduled_at": scheduled_at}}}},
        tags=spec.tags,
    )
