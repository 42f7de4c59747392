"""Crash recovery: runs whose worker is gone are failed, and their recording FAILED at the stage it was in.

With the default run launcher Dagster's run monitoring cannot see a run worker killed by SIGKILL or
the OOM killer: the run stays STARTED forever and the recording IN_FLIGHT. Two signals find them:
the run worker's pid (from Dagster's "Started process for run" event) no longer being a live process
on this host — the sensor runs in the code server, where the default launcher starts run workers —
and, for workers elsewhere (Celery, Kubernetes), a stage `running` for longer than
LEAP_STALE_RUN_MINUTES.
"""

from __future__ import annotations

import os
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from leap_core import tasks
from leap_core.errors import NotFoundError
from leap_dagster.jobs import recording_pipeline
from leap_dagster.resources import LeapResource

RUN_WORKER_STARTED = "Started process for run"


def run_worker_pid(instance: DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid as Dagster logged it when the worker started; None for in-process runs."""
    for record in reversed(instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)):
        event = record.dagster_event
        if event is None or not (record.message or "").startswith(RUN_WORKER_STARTED):
            continue
        pid = event.engine_event_data.metadata.get("pid")
        return int(str(pid.value)) if pid is not None else None
    return None


def process_alive(pid: int) -> bool:
    """A zombie (killed, not yet reaped by its parent) counts as gone: it will never write again."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z")


def dead_runs(instance: DagsterInstance, leap: LeapResource) -> dict[str, str]:
    """In-progress recording runs whose worker is gone, with why we think so."""
    started = instance.get_runs(RunsFilter(job_name=recording_pipeline.name, statuses=[DagsterRunStatus.STARTED]))
    core = leap.get()
    stale_after = timedelta(minutes=core.settings.stale_run_minutes)
    with core.db.session() as session:
        stalled = set(tasks.stalled_runs(session, stale_after))
    dead: dict[str, str] = {}
    for run in started:
        pid = run_worker_pid(instance, run.run_id)
        if pid is not None:  # a live local worker is never second-guessed, however long its stage takes
            if not process_alive(pid):
                dead[run.run_id] = f"its run worker (pid {pid}) is gone"
        elif run.run_id in stalled:
            dead[run.run_id] = f"a stage made no progress for {stale_after}"
    return dead


def fail_dead_run(instance: DagsterInstance, leap: LeapResource, run: DagsterRun, why: str) -> str:
    reason = f"run {run.run_id[:8]} died: {why}"
    instance.report_run_failed(run, message=reason)
    key = run.tags.get("dagster/partition")
    if key is None:
        return reason
    pipeline = leap.pipeline()
    with suppress(NotFoundError):  # the recording was deleted meanwhile: nothing left to fail
        pipeline.mark_run_died(pipeline.recording_id_for(key), run.run_id, reason)
    return reason


@sensor(minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="Fails runs whose worker was killed (SIGKILL, OOM) and moves their recording to FAILED.")
def run_recovery_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SkipReason | None:
    dead = dead_runs(context.instance, leap)
    if not dead:
        return SkipReason("every in-progress run has a live worker")
    for run_id, why in dead.items():
        run = context.instance.get_run_by_id(run_id)
        if run is not None:
            context.log.warning(fail_dead_run(context.instance, leap, run, why))
    return None
