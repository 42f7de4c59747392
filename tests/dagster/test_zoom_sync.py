"""The source-sync sensor on a real instance, against a fake Zoom account reached through the real client."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from dagster import DagsterInstance, DagsterRunStatus, SensorResult, build_sensor_context
from sqlalchemy import select

from leap_core.api import UserAPI
from leap_core.api.automation import AutomationAPI
from leap_core.db.models import AuditLog, AutomationRun, Credential
from leap_core.secrets import SecretBox
from leap_dagster.definitions import defs
from leap_dagster.sensors import source_sync_sensor
from tests.fakes.http_server import fake_http_server
from tests.fakes.zoom import FakeZoom
from tests.support.dagster import RESOURCES, automation_schedule, tick_automation, tick_launcher

RECENTLY = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


@pytest.fixture
def zoom(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeZoom]:
    """A fake Zoom account; LEAP's endpoints point at it through the environment, as an operator would."""
    for server in fake_http_server():
        monkeypatch.setenv("LEAP_ZOOM_API_URL", f"{server.url}/v2")
        monkeypatch.setenv("LEAP_ZOOM_OAUTH_URL", server.url)
        monkeypatch.setenv("LEAP_SECRET_KEY", SecretBox.generate_key())
        yield FakeZoom(server)


def connect_zoom(demo: UserAPI, zoom: FakeZoom, secret: str | None = None, name: str = "zoom") -> None:
    box = SecretBox([os.environ["LEAP_SECRET_KEY"]])
    with demo.leap.db.session() as session:
        session.add(Credential(user_id=demo.user_id, platform="zoom", name=name, hint="…test", encrypted=box.encrypt(
            {"account_id": zoom.account_id, "client_id": zoom.client_id,
             "client_secret": secret or zoom.client_secret})))
    demo.sources_api.add_zoom(name, name)


def tick(instance: DagsterInstance, cursor: str | None = None) -> SensorResult:
    result = source_sync_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES,
                                                     cursor=cursor))
    assert isinstance(result, SensorResult)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions("recordings", list(request.partition_keys or []))
    return result


def test_a_tick_registers_zoom_recordings_and_adds_their_partitions(
    demo: UserAPI, zoom: FakeZoom, instance: DagsterInstance
) -> None:
    zoom.add_meeting("Algebra 1", RECENTLY)
    zoom.add_meeting("Algebra 2", RECENTLY + timedelta(hours=2), status="processing")
    connect_zoom(demo, zoom)

    tick(instance)

    by_name = {r["source_name"]: r for r in demo.recordings()}
    assert {n: r["status"] for n, r in by_name.items()} == {"Algebra 1": "INITIALIZED", "Algebra 2": "PENDING_SOURCE"}
    assert set(instance.get_dynamic_partitions("recordings")) == {r["partition_key"] for r in by_name.values()}


def test_the_cursor_keeps_a_source_from_being_listed_again_before_its_interval(
    demo: UserAPI, zoom: FakeZoom, instance: DagsterInstance
) -> None:
    connect_zoom(demo, zoom)
    first = tick(instance)
    listings = len(zoom.server.requests_to("GET", "/v2/users/{user_id}/recordings"))
    second = tick(instance, first.cursor)
    assert len(zoom.server.requests_to("GET", "/v2/users/{user_id}/recordings")) == listings
    assert second.skip_reason is not None
    assert "synced 0 of 2 source(s)" in (second.skip_reason.skip_message or "")
    state = json.loads(second.cursor or "{}")
    assert len(state) == 2  # the inbox and the Zoom account, each with its last listing time


def test_a_source_with_a_bad_credential_is_reported_on_the_tick_and_others_still_sync(
    demo: UserAPI, zoom: FakeZoom, instance: DagsterInstance
) -> None:
    zoom.add_meeting("Algebra 1", RECENTLY)
    connect_zoom(demo, zoom, secret="not-the-secret-at-all", name="broken")
    connect_zoom(demo, zoom, name="good")

    result = tick(instance)

    assert len(demo.recordings()) == 1
    assert result.dynamic_partitions_requests
    state = json.loads(result.cursor or "{}")
    errors = [entry["error"] for entry in state.values() if entry.get("error")]
    assert len(errors) == 1 and "Zoom rejected" in errors[0]
    assert "not-the-secret-at-all" not in (result.cursor or "")
    assert next(s for s in demo.sources() if s["name"] == "broken")["last_error"] == errors[0]


def test_an_automation_tick_after_a_zoom_sync_has_the_launcher_start_tagged_runs(
    demo: UserAPI, zoom: FakeZoom, instance: DagsterInstance
) -> None:
    zoom.add_meeting("Algebra 1", RECENTLY)
    zoom.add_meeting("Algebra 2", RECENTLY + timedelta(hours=2))
    connect_zoom(demo, zoom)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    job = AutomationAPI(demo, clock=lambda: an_hour_ago).create(
        "hourly", "inbox", {"type": "cron", "expression": "*/5 * * * *"})

    automation_run = tick_automation(instance, automation_schedule(job["id"]))
    assert not isinstance(automation_run, str) and automation_run.success

    runs = tick_launcher(instance)
    assert len(runs) == 2
    tags = [r.dagster_run.tags for r in runs]
    assert {t["leap/automation_job"] for t in tags} == {job["id"]}
    assert {t["leap/reason"] for t in tags} == {"automation"}
    assert {t["leap/recording"] for t in tags} == {r["id"] for r in demo.recordings()}


def test_a_broken_source_fails_the_automation_run_visibly_audited_and_notified(
    demo: UserAPI, zoom: FakeZoom, instance: DagsterInstance
) -> None:
    connect_zoom(demo, zoom, secret="not-the-secret-at-all", name="broken")
    job = AutomationAPI(demo).create("mornings", "inbox", {"type": "cron", "expression": "*/5 * * * *"})
    result = tick_automation(instance, automation_schedule(job["id"]))
    assert not isinstance(result, str) and not result.success
    assert instance.get_run_by_id(result.run_id).status == DagsterRunStatus.FAILURE  # type: ignore[union-attr]
    with demo.leap.db.session() as session:
        (run,) = session.scalars(select(AutomationRun)).all()
        audited = [(a.action, a.result) for a in session.scalars(
            select(AuditLog).where(AuditLog.resource_id == job["id"]).order_by(AuditLog.id))]
    assert run.status == "partial" and "1 of 2 source(s) failed to sync: broken: " in run.summary["reason"]
    assert "not-the-secret-at-all" not in str(run.summary)
    assert audited[-2:] == [("automation.run_start", "success"), ("automation.run", "partial")]
    assert demo.notifications.list()[0]["type"] == "automation.failed"
