"""Cancel on a real instance: a queued run leaves the queue, a running one is stopped; both are retryable."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunRequest,
    build_sensor_context,
    instance_for_test,
)
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from leap_core.api import UserAPI
from leap_dagster.definitions import defs
from leap_dagster.sensors.cancel import cancel_sensor
from tests.dagster.test_recovery import ROOT, launch_in_child, next_run_request, wait_for_stage
from tests.fixtures.media import make_lecture
from tests.support.dagster import RESOURCES, settle, tick_launcher, tick_sync

QUEUED = {"run_coordinator": {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator"}}


@pytest.fixture
def queued_instance() -> Iterator[DagsterInstance]:
    with instance_for_test(overrides=QUEUED) as dagster_instance:
        yield dagster_instance


def arrive(demo: UserAPI, instance: DagsterInstance) -> None:
    shutil.copy(make_lecture().path, Path(demo.sources()[0]["path"]) / "lecture.mp4")
    tick_sync(instance)
    tick_sync(instance)  # a file counts as complete on its second scan


def enqueue(instance: DagsterInstance, request: RunRequest) -> DagsterRun:
    """What the daemon does with a sensor's run request under the queued coordinator: a QUEUED run."""
    origin = LoadableTargetOrigin(module_name="leap_dagster.definitions", attribute="defs", working_directory=str(ROOT))
    with in_process_test_workspace(instance, origin) as workspace:
        (location,) = workspace.code_locations
        remote_job = location.get_repository("__repository__").get_full_job("recording_pipeline")
        job = defs.resolve_job_def("recording_pipeline")
        return instance.create_run_for_job(
            job_def=job, status=DagsterRunStatus.QUEUED, remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            tags={**request.tags, "dagster/partition": str(request.partition_key)})


def tick_cancel(instance: DagsterInstance) -> None:
    cancel_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))


def test_a_queued_run_canceled_by_its_owner_leaves_the_queue_and_retry_finishes_it(
    demo: UserAPI, queued_instance: DagsterInstance
) -> None:
    arrive(demo, queued_instance)
    run = enqueue(queued_instance, next_run_request(queued_instance))
    tick_launcher(queued_instance)  # sees the queued run: the task carries its run id
    (task,) = demo.tasks.list()

    demo.tasks.cancel(task["id"])
    tick_cancel(queued_instance)

    assert queued_instance.get_run_by_id(run.run_id).status is DagsterRunStatus.CANCELED  # type: ignore[union-attr]
    assert demo.tasks.show(task["id"])["status"] == "CANCELED"
    (recording,) = demo.recordings()
    assert (recording["status"], recording["failed_at_stage"], recording["error"]) == (
        "FAILED", "download", "canceled by demo")
    assert {e["action"] for e in demo.activity()} >= {"task.cancel", "recording.fail"}

    demo.retry([recording["id"]])
    settle(queued_instance)
    assert demo.recording(recording["id"])["status"] == "UPLOADED"
    assert [t["status"] for t in demo.tasks.list()] == ["SUCCESS", "CANCELED"]


@pytest.mark.slow
def test_a_running_run_canceled_mid_stage_stops_and_leaves_the_recording_failed_there(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    arrive(demo, instance)
    run, child = launch_in_child(instance, next_run_request(instance))
    wait_for_stage(demo, "transcribe", child)
    tick_launcher(instance)
    (task,) = demo.tasks.list()
    assert (task["status"], task["step"]) == ("PROCESSING", "Transcribing audio…")

    demo.tasks.cancel(task["id"])
    tick_cancel(instance)
    child.wait(timeout=60)

    assert instance.get_run_by_id(run.run_id).status is DagsterRunStatus.CANCELED  # type: ignore[union-attr]
    (recording,) = demo.recordings()
    assert (recording["status"], recording["failed_at_stage"], recording["error"]) == (
        "FAILED", "transcribe", "canceled by demo")
    assert demo.tasks.show(task["id"])["status"] == "CANCELED"
