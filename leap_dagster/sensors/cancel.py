"""Cancel: carries out the cancellations users asked for through the core (`leap tasks cancel`).

The core only writes `cancel_requested`; this sensor stops the request's run — a queued run is taken
off the queue, a started one is terminated through the run launcher (or, for a run worker on this
host the launcher cannot reach, sent SIGTERM, which Dagster turns into a clean interruption) — and
then lets the core close the task and leave the recording FAILED where it stopped, ready for retry.
"""

from __future__ import annotations

import os
import signal

from dagster import (
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
from leap_core.audit import Actor
from leap_dagster.resources import LeapResource
from leap_dagster.sensors.recovery import process_alive, run_worker_pid

CANCEL_ACTOR = Actor("cancel-sensor", origin="sensor")
NOT_YET_RUNNING = {DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING}
ENDED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def runs_of(instance: DagsterInstance, item: tasks.CancelItem) -> list[DagsterRun]:
    """The request's runs still going: by run id once the launcher saw it, else by the request tag."""
    found = instance.get_runs(RunsFilter(run_ids=[item.run_id]) if item.run_id
                              else RunsFilter(tags={"leap/request": str(item.request_id)}))
    return [run for run in found if run.status not in ENDED]


def stop(instance: DagsterInstance, run: DagsterRun) -> str:
    """Stop one run the gentlest way that works; returns how, for the sensor's log."""
    if run.status is DagsterRunStatus.QUEUED and instance.run_coordinator.cancel_run(run.run_id):
        return "taken off the queue"
    if run.status in NOT_YET_RUNNING:
        instance.report_run_canceled(run, message="canceled before it started")
        return "canceled before it started"
    if instance.run_launcher.terminate(run.run_id):
        return "terminated by the run launcher"
    pid = run_worker_pid(instance, run.run_id)
    if pid is not None and process_alive(pid):
        os.kill(pid, signal.SIGTERM)
        return f"run worker {pid} interrupted"
    instance.report_run_canceled(run, message="canceled; its worker was already gone")
    return "marked canceled (worker already gone)"


@sensor(minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING,
        description="Stops runs whose task a user canceled; the recording is left FAILED and retryable.")
def cancel_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SkipReason | None:
    core = leap.get()
    with core.db.session() as session:
        items = tasks.pending_cancels(session)
    if not items:
        return SkipReason("no cancellations requested")
    for item in items:
        for run in runs_of(context.instance, item):
            context.log.info("task %s: run %s %s", item.request_id, run.run_id, stop(context.instance, run))
        with core.db.session() as session:
            tasks.close_canceled(session, CANCEL_ACTOR, item)
    return None
