"""Driving LEAP's real Dagster definitions in a test: sensor ticks, then the runs they ask for.

Runs execute in-process on a real (temporary) Dagster instance with the same job, tags and asset
selection the daemon would use; only the daemon's scheduling loop is replaced by these calls.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import (
    DagsterInstance,
    Definitions,
    ScheduleDefinition,
    SensorResult,
    build_schedule_context,
    build_sensor_context,
)
from dagster._core.execution.execute_in_process_result import ExecuteInProcessResult

from leap_dagster.definitions import build_definitions, defs
from leap_dagster.sensors import launcher_sensor, source_sync_sensor
from leap_dagster.sensors.checks import check_sensor

RESOURCES = dict(defs.resources or {})


def tick_sync(instance: DagsterInstance) -> list[str]:
    """One source-sync tick; returns the partition keys it added."""
    result = source_sync_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))
    if not isinstance(result, SensorResult):
        return []
    return apply_partition_requests(instance, result)


def apply_partition_requests(instance: DagsterInstance, result: SensorResult) -> list[str]:
    """Do what the daemon does with a tick's partition add requests; returns the keys added. (No sensor
    returns removals: the launcher applies those itself, see leap_core.partition_changes.)"""
    added: list[str] = []
    for request in result.dynamic_partitions_requests or []:
        keys = list(request.partition_keys or [])
        instance.add_dynamic_partitions("recordings", keys)
        added += keys
    return added


def tick_launcher(instance: DagsterInstance) -> list[ExecuteInProcessResult]:
    """One launcher tick, then every run it requested, executed to completion."""
    result = launcher_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))
    if not isinstance(result, SensorResult):
        return []
    apply_partition_requests(instance, result)
    job = defs.resolve_job_def("recording_pipeline")
    return [
        job.get_subset(asset_selection=set(run.asset_selection or []),
                       asset_check_selection=set(run.asset_check_keys) if run.asset_check_keys is not None else None)
        .execute_in_process(partition_key=run.partition_key, instance=instance, tags=run.tags, raise_on_error=False)
        for run in result.run_requests or []
    ]


CHECK_CURSOR = "leap-test-check-cursor"


def tick_checks(instance: DagsterInstance) -> list[ExecuteInProcessResult]:
    """One check-sensor tick, then the check runs it asked for (the cursor kept in the instance's KV store)."""
    cursor = instance.run_storage.get_cursor_values({CHECK_CURSOR}).get(CHECK_CURSOR)
    context = build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES, cursor=cursor)
    result = check_sensor(context)
    assert isinstance(result, SensorResult)
    if result.cursor is not None:
        instance.run_storage.set_cursor_values({CHECK_CURSOR: result.cursor})
    job = defs.resolve_job_def("recording_pipeline")
    return [
        job.get_subset(asset_selection=set(), asset_check_selection=set(run.asset_check_keys or [])).execute_in_process(
            partition_key=run.partition_key, instance=instance, tags=run.tags, raise_on_error=False)
        for run in result.run_requests or []
    ]


def settle(
    instance: DagsterInstance, rounds: int = 3, checks: list[ExecuteInProcessResult] | None = None
) -> list[ExecuteInProcessResult]:
    """Tick sync and launcher until nothing more happens (a file needs two scans to count as complete).

    The check runs that follow each ended run are executed too, and appended to `checks` when given.
    """
    results: list[ExecuteInProcessResult] = []
    for _ in range(rounds):
        tick_sync(instance)
        results += tick_launcher(instance)
        ran = tick_checks(instance)
        if checks is not None:
            checks += ran
    tick_launcher(instance)  # observes the runs' ends, releasing their concurrency slots
    return results


def automation_schedule(job_id: str, definitions: Definitions | None = None) -> ScheduleDefinition:
    """The schedule a fresh load of the definitions (what a code location reload does) builds for a job."""
    repository = (definitions or build_definitions()).get_repository_def()
    return next(s for s in repository.schedule_defs if s.tags.get("leap/automation_job") == job_id)


def tick_automation(
    instance: DagsterInstance, schedule: ScheduleDefinition, at: datetime | None = None
) -> ExecuteInProcessResult | str:
    """Evaluate one tick of an automation schedule as the daemon would, then run the `automation_run`
    it asks for; returns the run's result, or the tick's skip message."""
    # `with`: the context opens its own instance from the test instance's ref; left open, that instance's
    # ContextVar token is reset whenever the garbage collector finds it, restoring a dead instance's
    # defs-state storage in the middle of a later test (the thousand-jobs load read a vanished runs.db).
    with build_schedule_context(instance=instance, scheduled_execution_time=at or datetime.now(UTC),
                                resources=RESOURCES) as context:
        data = schedule.evaluate_tick(context)
    if not data.run_requests:
        return data.skip_message or ""
    (request,) = data.run_requests
    return defs.resolve_job_def("automation_run").execute_in_process(
        run_config=request.run_config, instance=instance, tags=request.tags, raise_on_error=False)
