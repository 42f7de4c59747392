"""Runs that die without their stage saying so (a crash, a killed step) still leave a FAILED recording."""

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor
from sqlalchemy import select

from leap_core.db.models import Recording
from leap_core.notifications import notify_recording_failed
from leap_dagster.jobs import CHECKS_OF_TAG
from leap_dagster.resources import LeapResource


@run_failure_sensor(default_status=DefaultSensorStatus.RUNNING, monitor_all_code_locations=False,
                    description="A run that died without its stage saying so moves its recording to FAILED.")
def recording_failure_sensor(context: RunFailureSensorContext, leap: LeapResource) -> None:
    run = context.dagster_run
    key = run.tags.get("dagster/partition")
    if key is None or CHECKS_OF_TAG in run.tags:
        return  # a failed check run (leap_dagster.sensors.checks) says nothing about the recording's stages
    core = leap.get()
    with core.db.session() as session:
        recording_id = session.scalar(select(Recording.id).where(Recording.partition_key == key))
    if recording_id is None:
        return
    reason = context.failure_event.message or "the run failed"
    if core.pipeline.mark_run_died(recording_id, run.run_id, f"run {run.run_id[:8]} died: {reason}"):
        context.log.warning("recording %s marked FAILED after its run died", recording_id)
        with core.db.session() as session:
            notify_recording_failed(session, recording_id, run.run_id)
