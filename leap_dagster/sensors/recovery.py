"""Crash recovery: dead runs failed, their pool slots freed, and no recording left stranded.

With the default run launcher Dagster's run monitoring cannot see a run worker killed by SIGKILL or
the OOM killer: the run stays STARTED forever and the recording IN_FLIGHT. Two signals find them:
the run worker's pid (from Dagster's "Started process for run" event) no longer being a live process
on this host — the sensor runs in the code server, where the default launcher starts run workers —
and, for workers elsewhere (Celery, Kubernetes), a stage `running` for longer than
LEAP_STALE_RUN_MINUTES.

Then, as a backstop to `run_monitoring.free_slots_after_run_end_seconds`, the pool slots still held
by runs that have ended are freed, and one page of LEAP's reconciler (`leap_core.reconcile`) fails
every recording that no live run or queued request will move any more.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from pathlib import Path

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster._core.storage.dagster_run import FINISHED_STATUSES

from leap_core import reconcile, tasks
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
    free_slots_of(instance, [run.run_id])
    key = run.tags.get("dagster/partition")
    if key is None:
        return reason
    pipeline = leap.pipeline()
    with suppress(NotFoundError):  # the recording was deleted meanwhile: nothing left to fail
        pipeline.mark_run_died(pipeline.recording_id_for(key), run.run_id, reason)
    return reason


def free_slots_of(instance: DagsterInstance, run_ids: Sequence[str]) -> int:
    """Give back the pool slots (held or pending) of the runs; returns how many runs had any."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return 0
    holders = storage.get_concurrency_run_ids()
    freed = [run_id for run_id in run_ids if run_id in holders]
    for run_id in freed:
        storage.free_concurrency_slots_for_run(run_id)
    return len(freed)


def free_slots_of_ended_runs(instance: DagsterInstance) -> int:
    """The backstop: slots held by runs that have ended, however they ended, are freed now."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return 0
    holders = list(storage.get_concurrency_run_ids())
    if not holders:
        return 0
    ended = instance.get_runs(RunsFilter(run_ids=holders, statuses=list(FINISHED_STATUSES)))
    return free_slots_of(instance, [run.run_id for run in ended])


LIVE = frozenset(DagsterRunStatus) - frozenset(FINISHED_STATUSES)


def run_lookup(instance: DagsterInstance) -> reconcile.RunLookup:
    """The reconciler's view of Dagster: each run's status, and the failure message of one that failed."""

    def lookup(run_ids: Sequence[str]) -> Mapping[str, reconcile.RunState]:
        if not run_ids:
            return {}
        states = {}
        for run in instance.get_runs(RunsFilter(run_ids=list(run_ids))):
            message = _failure_message(instance, run.run_id) if run.status is DagsterRunStatus.FAILURE else None
            states[run.run_id] = reconcile.RunState(run.status in LIVE, run.status.value, message)
        return states

    return lookup


def _failure_message(instance: DagsterInstance, run_id: str) -> str | None:
    """The failed step's own error where there is one (the cause), else the run's failure message."""
    records = instance.all_logs(run_id, of_type={DagsterEventType.RUN_FAILURE, DagsterEventType.STEP_FAILURE})
    for record in reversed(records):
        event = record.dagster_event
        if event is not None and event.event_type is DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            causes = []
            while error is not None:  # Dagster wraps the step's exception: the cause is at the end of the chain
                causes.append(error.message.strip())
                error = error.cause
            if causes:
                return " ← ".join(reversed(causes))
    return next((record.message for record in reversed(records) if record.message), None)


def _cursor(raw: str | None) -> reconcile.Cursor | None:
    if not raw:
        return None
    at, recording_id = json.loads(raw)
    return datetime.fromisoformat(at), recording_id


@sensor(minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Fails runs whose worker was killed (SIGKILL, OOM), frees the pool slots of ended runs, "
                    "and moves every stranded recording to FAILED with the stage and the reason.")
def run_recovery_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SensorResult | SkipReason:
    instance = context.instance
    for run_id, why in dead_runs(instance, leap).items():
        run = instance.get_run_by_id(run_id)
        if run is not None:
            context.log.warning(fail_dead_run(instance, leap, run, why))
    if freed := free_slots_of_ended_runs(instance):
        context.log.warning("freed the pool slots of %s run(s) that had ended", freed)
    core = leap.get()
    with core.db.session() as session:
        stranded, after = reconcile.reconcile(
            session, run_lookup(instance), timedelta(seconds=core.settings.reconcile_grace_seconds),
            core.settings.reconcile_batch_size, _cursor(context.cursor))
    for item in stranded:
        context.log.warning("recording %s stranded: FAILED at %s (%s)", item.recording_id, item.stage, item.reason)
    cursor = json.dumps([after[0].isoformat(), after[1]]) if after else ""
    return SensorResult(cursor=cursor, skip_reason=None if stranded else
                        SkipReason("every in-progress recording has a live run or a queued request"))
