"""A run worker killed with SIGKILL mid-stage is noticed, its recording FAILED there, and retry finishes it once."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunRequest, SensorResult, build_sensor_context
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import serialize_value
from sqlalchemy import select

from leap_core.api import UserAPI
from leap_core.db.models import ProcessingStage
from leap_core.stages import TRANSCRIBE
from leap_core.states import RecordingStatus
from leap_dagster.definitions import defs
from leap_dagster.sensors import launcher_sensor
from leap_dagster.sensors.recovery import run_recovery_sensor, run_worker_pid
from tests.fixtures.media import LectureSpec, make_lecture
from tests.support.builders import force_status, register_many
from tests.support.dagster import RESOURCES, settle, tick_launcher, tick_sync

ROOT = Path(__file__).resolve().parents[2]


def next_run_request(instance: DagsterInstance) -> RunRequest:
    """One launcher tick, as the daemon would evaluate it: the run it asks for, not yet started."""
    result = launcher_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))
    assert isinstance(result, SensorResult) and result.run_requests
    (request,) = result.run_requests
    return request


def launch_in_child(instance: DagsterInstance, request: RunRequest) -> tuple[DagsterRun, subprocess.Popen[bytes]]:
    """The run worker the default run launcher would start: `dagster api execute_run` in its own process."""
    recon = ReconstructableRepository.for_module(
        "leap_dagster.definitions", "defs", working_directory=str(ROOT)).get_reconstructable_job("recording_pipeline")
    job = defs.resolve_job_def("recording_pipeline")
    run = instance.create_run_for_job(
        job_def=job.get_subset(asset_selection=set(request.asset_selection or [])),
        tags={**request.tags, "dagster/partition": str(request.partition_key)},
        asset_selection=frozenset(request.asset_selection or []), job_code_origin=recon.get_python_origin(),
    )
    args = ExecuteRunArgs(job_origin=recon.get_python_origin(), run_id=run.run_id, instance_ref=instance.get_ref())
    child = subprocess.Popen([sys.executable, "-m", "dagster", "api", "execute_run", serialize_value(args)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return run, child


def wait_for_stage(demo: UserAPI, stage: str, child: subprocess.Popen[bytes]) -> None:
    """Poll the core until the child's run is working in `stage` (or the child ended, which fails the test)."""
    while child.poll() is None:
        with demo.leap.db.session() as session:
            if session.scalar(select(ProcessingStage.id).where(
                    ProcessingStage.stage == stage, ProcessingStage.status == "running")):
                return
        time.sleep(0.1)
    pytest.fail(f"the run ended (exit {child.returncode}) before reaching {stage}")


def kill_in_stage(demo: UserAPI, stage: str, child: subprocess.Popen[bytes]) -> str:
    """SIGKILL the worker the moment `stage` is running (polled tightly: download and trim take well under a
    second); returns the stage that was running when the signal went, which is where it must have failed."""
    while child.poll() is None:
        with demo.leap.db.session() as session:
            running = session.scalar(select(ProcessingStage.stage).where(ProcessingStage.status == "running"))
        if running is not None and (running == stage or _after(running, stage)):
            child.send_signal(signal.SIGKILL)
            child.wait()
            return running
        time.sleep(0.005)
    pytest.fail(f"the run ended (exit {child.returncode}) before reaching {stage}")


def _after(running: str, stage: str) -> bool:
    order = ["download", "trim", "transcribe", "topics", "subtitles", "upload:local"]
    return order.index(running) > order.index(stage)


def tick_recovery(instance: DagsterInstance) -> None:
    run_recovery_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))


@pytest.mark.slow
def test_a_run_worker_killed_mid_stage_fails_its_recording_there_and_retry_finishes_without_duplicates(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    inbox = Path(demo.sources()[0]["path"])
    shutil.copy(make_lecture().path, inbox / "lecture.mp4")
    tick_sync(instance)
    tick_sync(instance)  # a file counts as complete on its second scan
    run, child = launch_in_child(instance, next_run_request(instance))
    wait_for_stage(demo, "transcribe", child)
    tick_recovery(instance)  # the worker is alive: nothing to recover
    assert demo.recordings()[0]["status"] == "TRANSCRIBING"

    child.send_signal(signal.SIGKILL)
    child.wait()
    tick_launcher(instance)  # the launcher sees the run: the task now carries its run id
    assert instance.get_run_by_id(run.run_id).status is DagsterRunStatus.STARTED  # type: ignore[union-attr]
    assert run_worker_pid(instance, run.run_id) == child.pid
    tick_recovery(instance)

    assert instance.get_run_by_id(run.run_id).status is DagsterRunStatus.FAILURE  # type: ignore[union-attr]
    (recording,) = demo.recordings()
    assert (recording["status"], recording["failed_at_stage"]) == ("FAILED", "transcribe")
    assert f"pid {child.pid}" in recording["error"]
    (task,) = demo.tasks.list()
    assert (task["status"], task["step"]) == ("FAILURE", "Failed at transcribe")

    demo.retry([recording["id"]])
    settle(instance)

    assert demo.recording(recording["id"])["status"] == "UPLOADED"
    done = [(s["stage"], s["status"]) for s in demo.stages(recording["id"])]
    assert done == [("download", "completed"), ("trim", "completed"), ("transcribe", "failed"),
                    ("transcribe", "completed"), ("topics", "completed"), ("subtitles", "completed"),
                    ("upload:local", "completed")]
    assert len(demo.activity(action="target.upload")) == 1


def test_a_run_without_a_local_worker_whose_stage_stalls_past_the_limit_is_failed_there(
    demo: UserAPI, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    (recording_id,) = register_many(demo, 1)
    force_status(demo, [recording_id], RecordingStatus.PROCESSED)
    partition = demo.recording(recording_id)["partition_key"]
    run = instance.create_run_for_job(job_def=defs.resolve_job_def("recording_pipeline"),
                                      status=DagsterRunStatus.STARTED, tags={"dagster/partition": partition})
    demo.leap.pipeline.stages._enter(recording_id, TRANSCRIBE, run.run_id)  # a worker elsewhere took the stage
    monkeypatch.setenv("LEAP_STALE_RUN_MINUTES", "0")

    tick_recovery(instance)

    assert instance.get_run_by_id(run.run_id).status is DagsterRunStatus.FAILURE  # type: ignore[union-attr]
    recording = demo.recording(recording_id)
    assert (recording["status"], recording["failed_at_stage"]) == ("FAILED", "transcribe")
    assert "made no progress" in recording["error"]


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["download", "trim", "topics", "subtitles", "upload:local"])
def test_a_run_worker_killed_in_each_stage_ends_failed_there_and_retry_publishes_once(
    demo: UserAPI, instance: DagsterInstance, stage: str
) -> None:
    inbox = Path(demo.sources()[0]["path"])
    shutil.copy(make_lecture(LectureSpec(size="1280x720")).path, inbox / "lecture.mp4")
    tick_sync(instance)
    tick_sync(instance)
    run, child = launch_in_child(instance, next_run_request(instance))
    killed_in = kill_in_stage(demo, stage, child)
    tick_launcher(instance)
    tick_recovery(instance)

    (recording,) = demo.recordings()
    assert (recording["status"], recording["failed_at_stage"]) == ("FAILED", killed_in)
    storage = Path(demo.leap.settings.resolved_storage_dir)
    assert not list(storage.rglob("*.part")), "no partial file may stay behind"
    demo.retry([recording["id"]])
    settle(instance)
    assert demo.recording(recording["id"])["status"] == "UPLOADED"
    assert len(demo.activity(action="target.upload")) == 1
    assert instance.get_run_by_id(run.run_id).status is DagsterRunStatus.FAILURE  # type: ignore[union-attr]
