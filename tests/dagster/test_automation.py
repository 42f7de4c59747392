"""The automation evaluator on a real instance: jobs made through the API take effect on its next tick."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context

from leap_core.api import UserAPI
from leap_core.api.automation import AutomationAPI
from leap_core.db.models import AutomationJob
from leap_dagster.definitions import defs
from leap_dagster.schedules import automation_sensor
from tests.fixtures.media import make_lecture
from tests.support.dagster import RESOURCES, tick_launcher, tick_sync

EVERY_FIVE_MINUTES = {"type": "cron", "expression": "*/5 * * * *", "timezone": "Europe/Berlin"}


def automation_tick(instance: DagsterInstance) -> str:
    """One evaluator tick; returns what the tick history shows for it."""
    result = automation_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))
    assert isinstance(result, SensorResult)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions("recordings", list(request.partition_keys or []))
    return result.skip_reason.skip_message or "" if result.skip_reason else "requested partitions"


def jobs_as_of(demo: UserAPI, moment: datetime) -> AutomationAPI:
    return AutomationAPI(demo, clock=lambda: moment)


def test_the_evaluator_is_registered_in_the_definitions() -> None:
    assert defs.resolve_sensor_def("automation_sensor").minimum_interval_seconds == 30


def test_a_job_created_after_the_definitions_loaded_runs_on_the_next_tick_and_its_tick_names_it(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    assert automation_tick(instance) == "no automation job is due"
    jobs_as_of(demo, datetime.now(UTC) - timedelta(hours=1)).create("mornings", "inbox", EVERY_FIVE_MINUTES)
    report = automation_tick(instance)
    assert report.startswith("mornings: completed, found 0, matched 0, requested 0")
    assert automation_tick(instance) == "no automation job is due"  # moved on to its next instant


def test_a_disabled_job_is_not_run_and_re_enabling_it_takes_effect_at_once(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    past = jobs_as_of(demo, datetime.now(UTC) - timedelta(hours=1))
    past.create("mornings", "inbox", EVERY_FIVE_MINUTES)
    past.disable("mornings")
    assert automation_tick(instance) == "no automation job is due"
    past.enable("mornings")
    assert automation_tick(instance).startswith("mornings: completed")


def test_a_too_frequent_run_is_shown_on_the_tick_and_in_the_jobs_history(
    demo: UserAPI, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MIN_AUTOMATION_INTERVAL_HOURS", "1")
    now = datetime.now(UTC)
    api = jobs_as_of(demo, now - timedelta(hours=2))
    api.create("hourly", "inbox", {"type": "hours", "every": 1})
    jobs_as_of(demo, now - timedelta(minutes=10)).run("hourly")
    assert "hourly: skipped (too frequent" in automation_tick(instance)
    assert [h["status"] for h in api.history("hourly")] == ["skipped", "completed"]


@pytest.mark.slow
def test_recordings_wait_for_their_job_and_its_run_processes_them_end_to_end(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    jobs_as_of(demo, datetime.now(UTC)).create("evenings", "inbox", {"type": "daily", "time": "18:00"})
    inbox = Path(demo.sources()[0]["path"])
    shutil.copy(make_lecture().path, inbox / "Lecture.mp4")
    tick_sync(instance)
    tick_sync(instance)
    assert tick_launcher(instance) == []  # INITIALIZED, waiting for the job: nothing starts on arrival
    (recording,) = demo.recordings()
    assert recording["status"] == "INITIALIZED"

    jobs_as_of(demo, datetime.now(UTC)).update("evenings", schedule=EVERY_FIVE_MINUTES)
    with demo.leap.db.session() as session:  # the next instant has come
        job = session.query(AutomationJob).one()
        job.next_run_at = datetime.now(UTC) - timedelta(seconds=1)
    assert automation_tick(instance).startswith("evenings: completed, found 0, matched 1, requested 1")
    (run,) = tick_launcher(instance)
    assert run.success
    assert run.dagster_run.tags["leap/reason"] == "automation"
    assert demo.recording(recording["id"])["status"] == "UPLOADED"
