"""Fair, complete concurrency on a real Dagster instance: round-robin whatever the queue's length, and runs
started outside the launcher (the Dagster UI, a backfill) counted against, and listed for, their user."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context
from sqlalchemy import select, update

from leap_core import launcher
from leap_core.api import Leap, UserAPI, create_user
from leap_core.config import default_quotas
from leap_core.db.models import Recording, RunRequest
from leap_dagster.definitions import defs
from leap_dagster.sensors import launcher_sensor
from tests.conftest import TEST_ACTOR
from tests.support.builders import add_inbox, register_many
from tests.support.dagster import RESOURCES, tick_launcher


def launcher_tick(instance: DagsterInstance) -> SensorResult | None:
    result = launcher_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))
    return result if isinstance(result, SensorResult) else None


def make_bob(leap: Leap, tmp_path: Path) -> UserAPI:
    bob = leap.as_user(create_user(leap.db, TEST_ACTOR, "bob", None, "user")["id"], TEST_ACTOR)
    add_inbox(bob, tmp_path)
    return bob


def occupy_a_slot(api: UserAPI) -> None:
    """One of the user's requests is running (as far as LEAP knows): the user is at a cap of 1."""
    with api.leap.db.session() as session:
        first = session.scalar(select(RunRequest.id).where(RunRequest.user_id == api.user_id).order_by(RunRequest.id))
        session.execute(update(RunRequest).where(RunRequest.id == first)
                        .values(status="launched", run_id="still-running-elsewhere"))


def test_600_queued_requests_of_a_capped_user_never_hold_back_another_users_one_request(
    demo: UserAPI, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MAX_CONCURRENT_TASKS", "1")
    register_many(demo, 600)
    occupy_a_slot(demo)
    bob = make_bob(demo.leap, tmp_path)
    (bobs,) = register_many(bob, 1)

    result = launcher_tick(instance)
    assert result is not None
    assert [r.tags["leap/user"] for r in result.run_requests or []] == [bob.user_id]
    assert [r.tags["leap/recording"] for r in result.run_requests or []] == [bobs]
    assert launcher_tick(instance) is None  # demo is still at 1 of 1, bob's one request is taken


def test_a_run_started_in_dagster_without_leap_tags_is_counted_against_and_listed_for_its_user(
    demo: UserAPI, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MAX_CONCURRENT_TASKS", "1")
    ui_recording, queued = register_many(demo, 2)  # files that do not exist: the run fails at download
    with demo.leap.db.session() as session:  # the UI run is of a recording nobody asked LEAP to run
        session.execute(update(RunRequest).where(RunRequest.recording_id == ui_recording).values(status="canceled"))
        key = session.get_one(Recording, ui_recording).partition_key
    instance.add_dynamic_partitions("recordings", [key])

    job = defs.resolve_job_def("recording_pipeline")
    ui_run = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)  # no leap/* tags
    (task,) = [t for t in demo.tasks.list() if t["run_id"] == ui_run.run_id]
    assert (task["recording_id"], task["reason"], task["status"]) == (ui_recording, "dagster", "FAILURE")
    assert task["error"] and "download" in (task["step"] + task["error"]).lower()
    tags = instance.get_run_by_id(ui_run.run_id).tags  # type: ignore[union-attr]
    assert (tags["leap/user"], tags["leap/request"]) == (demo.user_id, str(task["id"]))

    # Until the launcher sees the run end, it holds demo's one slot: the other request waits.
    with demo.leap.db.session() as session:
        assert session.scalar(select(RunRequest.status).where(RunRequest.id == task["id"])) == "launched"
        assert launcher.next_batch(session, default_quotas(), 50) == []
    runs = tick_launcher(instance)  # observes the UI run's end first, then starts the waiting request
    assert [r.dagster_run.tags["leap/recording"] for r in runs] == [queued]
    assert demo.tasks.show(task["id"])["finished_at"] is not None


def test_a_dagster_ui_run_for_a_user_capped_at_zero_does_no_work_and_is_queued(
    demo: UserAPI, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MAX_CONCURRENT_TASKS", "0")
    (recording_id,) = register_many(demo, 1)
    with demo.leap.db.session() as session:
        session.execute(update(RunRequest).values(status="canceled"))
        key = session.get_one(Recording, recording_id).partition_key
    instance.add_dynamic_partitions("recordings", [key])

    job = defs.resolve_job_def("recording_pipeline")
    ui_run = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)
    assert not ui_run.success
    (failure,) = [e for e in ui_run.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message if failure.step_failure_data.error else ""  # type: ignore[union-attr]
    assert "max_concurrent_tasks: 0 of 0 allowed at once are running" in message
    assert demo.recording(recording_id)["status"] == "INITIALIZED"  # no stage started
    assert demo.stages(recording_id) == []
    (queued,) = [t for t in demo.tasks.list() if t["reason"] == "dagster"]
    assert (queued["status"], queued["step"], queued["first_stage"]) == ("PENDING", "Waiting for a free worker…",
                                                                          "download")
    assert f"LEAP task {queued['id']}" in message
    assert launcher_tick(instance) is None  # capped at 0: it waits, it is not started behind the cap
