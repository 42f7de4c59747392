"""Daily and weekly summaries, and the Dagster sensor and schedule that drive notifications."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)

from leap_core.api import UserAPI
from leap_core.notifications import notify, stage_failed
from leap_core.notifications.summaries import send_summaries
from leap_dagster.resources import LeapResource
from leap_dagster.schedules_notifications import notification_summaries, notification_summary_schedule
from leap_dagster.sensors.outbox import notification_outbox_sensor
from tests.core.notifications.conftest import SMTPServer

MONDAY_7AM = datetime(2026, 1, 5, 7, tzinfo=UTC)
TUESDAY_7AM = datetime(2026, 1, 6, 7, tzinfo=UTC)


def summaries(api: UserAPI) -> list[dict[str, object]]:
    return [n for n in api.notifications.list() if n["type"] == "summary"]


def test_a_daily_summary_is_sent_once_per_day(alice: UserAPI, bob: UserAPI) -> None:
    alice.notifications.set_preferences(summary="daily")
    with alice.leap.db.session() as session:
        notify(session, alice.user_id, stage_failed("rec1", "L", "trim", "boom", 1))

    assert send_summaries(alice.leap.db, datetime.now(UTC)) == 1
    assert send_summaries(alice.leap.db, datetime.now(UTC)) == 0, "a re-run of the same day sends nothing"
    [summary] = summaries(alice)
    assert summary["data"]["period"] == "daily"  # type: ignore[index]
    assert summary["data"]["counts"]["notifications"] == 1  # type: ignore[index]
    assert summaries(bob) == [], "summaries are off by default"


def test_a_weekly_summary_goes_out_on_mondays_only(alice: UserAPI) -> None:
    alice.notifications.set_preferences(summary="weekly")
    assert send_summaries(alice.leap.db, TUESDAY_7AM) == 0
    assert send_summaries(alice.leap.db, MONDAY_7AM) == 1


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as dagster_instance:
        yield dagster_instance


@pytest.fixture
def resource(alice: UserAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: SMTPServer) -> LeapResource:
    """The resource reads the rest of its settings from the environment, as `dagster dev` would."""
    for name, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_SECURITY": "none"}.items():
        monkeypatch.setenv(f"LEAP_{name}", value)
    return LeapResource(database_url=alice.leap.db.url, home=str(tmp_path / "home"))


def test_the_outbox_sensor_sends_what_is_due(
    alice: UserAPI, instance: DagsterInstance, resource: LeapResource, smtp: SMTPServer
) -> None:
    with alice.leap.db.session() as session:
        notify(session, alice.user_id, stage_failed("rec1", "L", "trim", "boom", 1))
    result = notification_outbox_sensor(build_sensor_context(instance=instance, resources={"leap": resource}))
    assert isinstance(result, SkipReason) and result.skip_message == "sent 1, retrying 0, failed 0"
    assert len(smtp.mailbox.received) == 1


def test_the_summary_schedule_runs_the_summaries_for_its_tick(
    alice: UserAPI, instance: DagsterInstance, resource: LeapResource
) -> None:
    alice.notifications.set_preferences(summary="weekly")
    with build_schedule_context(instance=instance, scheduled_execution_time=MONDAY_7AM) as context:
        request = notification_summary_schedule(context)
    assert isinstance(request, RunRequest)
    result = notification_summaries.execute_in_process(instance=instance, tags=request.tags,
                                                       resources={"leap": resource})
    assert result.success and result.output_for_node("notification_summaries_op") == 1
    [summary] = summaries(alice)
    assert summary["data"]["end"] == MONDAY_7AM.isoformat()  # type: ignore[index]
