"""Automation jobs as Dagster schedules (ADR 0030), on a real instance: a job made through the API is a
schedule on the next load of the definitions, its tick runs `automation_run`, which writes run requests."""

from __future__ import annotations

import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_sensor_context
from dagster._core.code_pointer import CodePointer
from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.scheduler.instigation import InstigatorStatus
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from sqlalchemy import insert, select

from leap_core.api import UserAPI
from leap_core.api.automation import AutomationAPI
from leap_core.automation import bump_revision
from leap_core.config import Settings
from leap_core.db.models import AutomationJob, AutomationRun, RunRequest, Template
from leap_core.db.types import new_ulid
from leap_dagster import schedules as automation_schedules
from leap_dagster.definitions import build_definitions, definitions_for_this_process, defs
from leap_dagster.sensors import automation_reload
from tests.fakes.http_server import FakeHTTPServer, Response
from tests.fixtures.media import make_lecture
from tests.support.dagster import RESOURCES, automation_schedule, tick_automation, tick_launcher, tick_sync

EVERY_FIVE_MINUTES = {"type": "cron", "expression": "*/5 * * * *", "timezone": "Europe/Berlin"}
SCHEDULES = [
    {"type": "daily", "time": "06:00", "timezone": "Europe/Berlin"},
    {"type": "weekdays", "days": [1, 3, 5], "time": "18:30", "timezone": "America/New_York"},
    {"type": "hours", "hours": 6, "timezone": "Asia/Tokyo"},
    {"type": "cron", "expression": "15 9 * * 1-5", "timezone": "Asia/Kolkata"},
]


def jobs_as_of(demo: UserAPI, moment: datetime) -> AutomationAPI:
    return AutomationAPI(demo, clock=lambda: moment)


def test_a_job_created_through_the_api_is_a_schedule_named_for_its_owner_on_the_next_load(demo: UserAPI) -> None:
    job = jobs_as_of(demo, datetime.now(UTC)).create("Morning lectures", "inbox", EVERY_FIVE_MINUTES)
    schedule = automation_schedule(job["id"])
    assert schedule.name == "demo__morning_lectures"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("*/5 * * * *", "Europe/Berlin")
    assert schedule.tags["leap/user"] == demo.user_id and schedule.tags["leap/automation_job"] == job["id"]
    assert schedule.job_name == "automation_run"
    assert "demo's job 'Morning lectures'" in (schedule.description or "")


def test_a_tick_runs_automation_run_which_writes_run_requests_and_shows_its_counts(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    job = jobs_as_of(demo, datetime.now(UTC) - timedelta(hours=1)).create("mornings", "inbox", EVERY_FIVE_MINUTES)
    inbox = Path(demo.sources()[0]["path"])
    shutil.copy(make_lecture().path, inbox / "Lecture.mp4")
    tick_sync(instance)
    tick_sync(instance)  # INITIALIZED, waiting for the job
    result = tick_automation(instance, automation_schedule(job["id"]))
    assert not isinstance(result, str) and result.success
    assert result.dagster_run.tags["leap/automation_job"] == job["id"]
    metadata = next(e for e in result.all_events if e.event_type_value == "STEP_OUTPUT").event_specific_data
    shown = {k: v.value for k, v in metadata.metadata.items()}  # type: ignore[union-attr]
    assert (shown["status"], shown["matched"], shown["requested"]) == ("completed", 1, 1)
    with demo.leap.db.session() as session:
        (request,) = session.scalars(select(RunRequest)).all()
        (run,) = session.scalars(select(AutomationRun)).all()
    assert (request.reason, request.automation_job_id) == ("automation", job["id"])
    assert (run.status, run.dagster_run_id, run.finished_at is not None) == ("completed", result.run_id, True)


def test_a_tick_of_a_job_disabled_since_the_load_is_skipped_with_the_reason(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    api = jobs_as_of(demo, datetime.now(UTC))
    job = api.create("mornings", "inbox", EVERY_FIVE_MINUTES)
    loaded = build_definitions()
    api.disable("mornings")
    message = tick_automation(instance, automation_schedule(job["id"], loaded))
    assert isinstance(message, str) and "disabled in LEAP" in message
    assert not [s for s in build_definitions().get_repository_def().schedule_defs
                if s.tags.get("leap/automation_job") == job["id"]]  # and gone from the next load
    assert instance.get_runs() == []


def test_a_too_frequent_tick_is_a_skipped_run_not_a_failure(
    demo: UserAPI, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MIN_AUTOMATION_INTERVAL_HOURS", "1")
    now = datetime.now(UTC)
    api = jobs_as_of(demo, now - timedelta(hours=2))
    job = api.create("hourly", "inbox", {"type": "hours", "hours": 1})
    jobs_as_of(demo, now - timedelta(minutes=10)).run("hourly")
    result = tick_automation(instance, automation_schedule(job["id"]), at=now)
    assert not isinstance(result, str) and result.success  # green: the plan working, not a fault
    assert [h["status"] for h in api.history("hourly")] == ["skipped", "completed"]
    kinds = [n["type"] for n in demo.notifications.list()]
    assert "automation.failed" not in kinds


def test_the_definitions_load_without_a_database_with_no_automation_schedules_and_say_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    with caplog.at_level("WARNING", logger="leap.automation.schedules"):
        assert automation_schedules.load_automation_schedules(settings) == []
    assert "automation schedules not loaded" in caplog.text and "OperationalError" in caplog.text
    assert automation_schedules.LOADED.revision is None


def test_the_reload_sensor_asks_the_webserver_to_reload_when_a_job_changes(
    demo: UserAPI, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    reloaded = {"data": {"reloadRepositoryLocation": {"__typename": "WorkspaceLocationEntry",
                                                      "locationOrLoadError": {"__typename": "RepositoryLocation"}}}}
    with FakeHTTPServer() as webserver:  # stands in for dagster-webserver's /graphql
        webserver.route("POST", "/graphql", Response.json(reloaded))
        monkeypatch.setenv("LEAP_DAGSTER_WEBSERVER_URL", webserver.url)
        build_definitions()  # what the code location loaded: revision as of now
        sensor = defs.resolve_sensor_def("automation_reload_sensor")
        context = build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES)
        assert "up to date" in str(sensor(context).skip_message)  # type: ignore[union-attr]
        jobs_as_of(demo, datetime.now(UTC)).create("mornings", "inbox", EVERY_FIVE_MINUTES)
        first = sensor(context)
        assert "reload of code location 'leap' requested" in str(first.skip_message)  # type: ignore[union-attr]
        assert automation_reload.last_reload is not None
        automation_reload.last_reload.join(10)
        assert "waiting for it" in str(sensor(context).skip_message)  # type: ignore[union-attr]
        asked = [r.json() for r in webserver.requests]
    assert len(asked) == 1 and asked[0]["variables"] == {"name": "leap"}
    build_definitions()  # the reload happened
    assert "up to date" in str(sensor(context).skip_message)  # type: ignore[union-attr]


@pytest.mark.slow
def test_recordings_wait_for_their_job_and_its_run_processes_them_end_to_end(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    job = jobs_as_of(demo, datetime.now(UTC)).create("evenings", "inbox", {"type": "daily", "time": "18:00"})
    inbox = Path(demo.sources()[0]["path"])
    shutil.copy(make_lecture().path, inbox / "Lecture.mp4")
    tick_sync(instance)
    tick_sync(instance)
    assert tick_launcher(instance) == []  # INITIALIZED, waiting for the job: nothing starts on arrival
    (recording,) = demo.recordings()
    assert recording["status"] == "INITIALIZED"
    started = time.monotonic()
    result = tick_automation(instance, automation_schedule(job["id"]))
    assert not isinstance(result, str) and result.success and time.monotonic() > started
    (run,) = tick_launcher(instance)
    assert run.success
    assert run.dagster_run.tags["leap/reason"] == "automation"
    assert demo.recording(recording["id"])["status"] == "UPLOADED"


def test_a_thousand_jobs_load_as_a_thousand_schedules(demo: UserAPI) -> None:
    with demo.leap.db.session() as session:
        template = session.scalars(select(Template).where(Template.user_id == demo.user_id)).one()
        session.execute(insert(AutomationJob), [
            {"id": new_ulid(), "user_id": demo.user_id, "template_id": template.id, "name": f"job {i:04d}",
             "schedule": SCHEDULES[i % len(SCHEDULES)], "enabled": i % 10 != 9}  # every tenth one disabled
            for i in range(1000)])
        bump_revision(session)
    repository = build_definitions().get_repository_def()
    ours = [s for s in repository.schedule_defs if "leap/automation_job" in s.tags]
    assert len(ours) == 900 and len({s.name for s in ours}) == 900
    assert automation_schedules.LOADED.skipped == []
    assert {s.cron_schedule for s in ours} == {"0 6 * * *", "30 18 * * 1,3,5", "0 0-23/6 * * *", "15 9 * * 1-5"}


def test_a_schedule_stopped_in_the_ui_while_leap_has_it_enabled_is_started_again(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    jobs_as_of(demo, datetime.now(UTC)).create("mornings", "inbox", EVERY_FIVE_MINUTES)
    build_definitions()
    target = ModuleTarget(module_name="leap_dagster.definitions", attribute=None, working_directory=None,
                          location_name="leap")
    with create_test_daemon_workspace_context(target, instance) as workspace:  # a real code server, as the UI's
        location = workspace.create_request_context().get_code_location("leap")
        remote = next(iter(location.get_repositories().values())).get_schedule("demo__mornings")
        instance.stop_schedule(remote.get_remote_origin_id(), remote.selector_id, remote)  # the UI's toggle
    sensor = defs.resolve_sensor_def("automation_reload_sensor")
    message = sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES)).skip_message  # type: ignore[union-attr]
    assert "started again (stopped in the UI, enabled in LEAP): demo__mornings" in message
    state = instance.get_instigator_state(remote.get_remote_origin_id(), remote.selector_id)
    assert state is not None and state.status == InstigatorStatus.DECLARED_IN_CODE


def test_a_history_row_left_started_by_a_dead_run_is_closed_as_failed_and_the_owner_told(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    job = jobs_as_of(demo, datetime.now(UTC)).create("mornings", "inbox", EVERY_FIVE_MINUTES)
    dead = defs.resolve_job_def("automation_run").execute_in_process(  # a run that ends without finishing a row
        run_config={"ops": {"run_automation_job": {"config": {"job_id": "no-such-job"}}}}, instance=instance,
        raise_on_error=False)
    assert not dead.success
    with demo.leap.db.session() as session:
        session.add(AutomationRun(job_id=job["id"], trigger="schedule", status="started", summary={},
                                  started_at=datetime.now(UTC), dagster_run_id=dead.run_id))
    build_definitions()
    sensor = defs.resolve_sensor_def("automation_reload_sensor")
    message = sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES)).skip_message  # type: ignore[union-attr]
    assert "1 automation run(s) whose Dagster run ended unfinished recorded as failed" in message
    (row,) = AutomationAPI(demo).history("mornings")
    assert row["status"] == "failed" and f"Dagster run {dead.run_id} ended (FAILURE)" in row["reason"]
    assert demo.notifications.list()[0]["type"] == "automation.failed"


def test_a_run_worker_rebuilds_the_definitions_without_the_automation_schedules(
    demo: UserAPI, tmp_path: Path
) -> None:
    """The path `dagster api execute_run|execute_step` takes (ReconstructableRepository → a fresh import of the
    code pointer's module), on a module that builds LEAP's definitions as leap_dagster/definitions.py does."""
    jobs_as_of(demo, datetime.now(UTC)).create("mornings", "inbox", EVERY_FIVE_MINUTES)
    module = tmp_path / "worker_defs.py"
    module.write_text("from leap_dagster.definitions import definitions_for_this_process\n"
                      "defs = definitions_for_this_process()\n")
    served = definitions_for_this_process().get_repository_def()  # a code server's (or this test's) import
    assert "demo__mornings" in {s.name for s in served.schedule_defs}
    recon = ReconstructableRepository(CodePointer.from_python_file(str(module), "defs", str(tmp_path)))
    try:  # as in a fresh worker, no load context is set; `scoped` puts back this process's afterwards
        with DefinitionsLoadContext.scoped(None):  # type: ignore[arg-type]
            worker = recon.get_definition()
    finally:
        sys.modules.pop("worker_defs", None)
    assert {s.name for s in worker.schedule_defs} == {"notification_summary_schedule", "credential_health_schedule"}
    assert worker.has_job("automation_run") and worker.has_job("recording_pipeline")
