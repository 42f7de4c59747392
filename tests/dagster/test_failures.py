"""A run that dies without its stage recording the failure still leaves its recording FAILED at that stage."""

from __future__ import annotations

from dagster import (
    DagsterEventType,
    DagsterInstance,
    RunFailureSensorContext,
    build_run_status_sensor_context,
)

from leap_core.api import UserAPI
from leap_core.stages import TRANSCRIBE
from leap_core.states import RecordingStatus
from leap_dagster.definitions import defs
from leap_dagster.sensors import recording_failure_sensor
from tests.support.builders import force_status, register_many
from tests.support.dagster import RESOURCES


def died_run(instance: DagsterInstance, partition_key: str) -> tuple[object, object]:
    """A run of the recording pipeline for the partition, reported failed the way a killed worker's run is."""
    job = defs.resolve_job_def("recording_pipeline")
    run = instance.create_run_for_job(job_def=job, tags={"dagster/partition": partition_key})
    instance.report_run_failed(run, message="run worker process exited with signal 9")
    (record,) = instance.fetch_run_status_changes(DagsterEventType.RUN_FAILURE, limit=2).records
    return instance.get_run_by_id(run.run_id), record.event_log_entry.dagster_event


def failure_context(instance: DagsterInstance, run: object, event: object) -> RunFailureSensorContext:
    """What the daemon hands recording_failure_sensor for the run's failure."""
    return build_run_status_sensor_context(
        sensor_name="recording_failure_sensor", dagster_instance=instance, dagster_run=run,  # type: ignore[arg-type]
        dagster_event=event, resources=RESOURCES,  # type: ignore[arg-type]
    ).for_run_failure()


def test_a_died_run_moves_its_in_flight_recording_to_failed_at_the_stage(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    (recording_id,) = register_many(demo, 1)
    force_status(demo, [recording_id], RecordingStatus.TRANSCRIBING)
    key = demo.recording(recording_id)["partition_key"]
    run, event = died_run(instance, key)
    context = failure_context(instance, run, event)
    recording_failure_sensor(context)
    view = demo.recording(recording_id)
    assert (view["status"], view["failed_at_stage"]) == ("FAILED", "transcribe")
    assert "signal 9" in view["error"]
    (entry,) = demo.activity(action="recording.fail")
    assert entry["origin"] == "sensor"


def test_a_recording_that_already_settled_is_left_alone(demo: UserAPI, instance: DagsterInstance) -> None:
    (recording_id,) = register_many(demo, 1)
    force_status(demo, [recording_id], RecordingStatus.UPLOADED)
    run, event = died_run(instance, demo.recording(recording_id)["partition_key"])
    context = failure_context(instance, run, event)
    recording_failure_sensor(context)
    assert demo.recording(recording_id)["status"] == "UPLOADED"


def test_the_failure_sensor_of_a_run_a_retry_replaced_changes_nothing(demo: UserAPI, instance: DagsterInstance) -> None:
    (recording_id,) = register_many(demo, 1)
    force_status(demo, [recording_id], RecordingStatus.PROCESSED)
    run, event = died_run(instance, demo.recording(recording_id)["partition_key"])
    demo.leap.pipeline.stages._enter(recording_id, TRANSCRIBE, run.run_id)  # type: ignore[attr-defined]
    demo.leap.pipeline.mark_run_died(recording_id, run.run_id, "its run worker is gone")  # type: ignore[attr-defined]
    demo.retry([recording_id])  # issued while the run's failure is still being handled
    context = failure_context(instance, run, event)

    recording_failure_sensor(context)

    view = demo.recording(recording_id)
    assert (view["status"], view["error"]) == ("TRANSCRIBING", None)
    (late,) = demo.activity(action="recording.late_event")
    assert late["details"]["run_id"] == run.run_id  # type: ignore[attr-defined]
