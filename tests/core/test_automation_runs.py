"""Every automation run leaves a record: a row that starts "started" and ends completed, partial, skipped or
failed, two audit entries, and (unless it was a skip) a notice to the owner; job changes bump the revision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select

from leap_core import automation
from leap_core.api import UserAPI
from leap_core.api.automation import AutomationAPI
from leap_core.db.models import AuditLog, AutomationRun
from tests.support.builders import register_many

WINTER = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)
DAILY = {"type": "daily", "time": "06:00", "timezone": "Europe/Berlin"}


@pytest.fixture
def api(alice: UserAPI, tmp_path: Path) -> AutomationAPI:
    alice.add_local_source("inbox", tmp_path / "inbox")
    alice.add_template("lectures", targets=["local"])
    return AutomationAPI(alice, clock=lambda: WINTER)


def audit_of(alice: UserAPI, job_id: str) -> list[tuple[str, str]]:
    with alice.leap.db.session() as session:
        return [(a.action, a.result) for a in session.scalars(
            select(AuditLog).where(AuditLog.resource_id == job_id, AuditLog.action.like("automation.run%"))
            .order_by(AuditLog.id))]


def test_a_completed_run_has_its_row_from_start_to_finish_an_audit_pair_and_a_notice(
    alice: UserAPI, api: AutomationAPI
) -> None:
    job = api.create("mornings", "lectures", DAILY)
    register_many(alice, 2)
    summary = api.run("mornings")
    with alice.leap.db.session() as session:
        (run,) = session.scalars(select(AutomationRun)).all()
    assert (run.id, run.status, run.trigger) == (summary["run_id"], "completed", "manual")
    assert run.started_at == WINTER and run.finished_at is not None and run.finished_at >= WINTER
    assert audit_of(alice, job["id"]) == [("automation.run_start", "success"), ("automation.run", "success")]
    assert alice.notifications.list()[0]["type"] == "automation.completed"


def test_too_frequent_is_a_recorded_skip_that_sends_no_failure_notice(
    alice: UserAPI, api: AutomationAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MIN_AUTOMATION_INTERVAL_HOURS", "24")
    job = api.create("mornings", "lectures", DAILY)
    api.run("mornings")
    skipped = AutomationAPI(alice, clock=lambda: WINTER + timedelta(hours=1)).run("mornings")
    assert skipped["status"] == "skipped" and "too frequent" in skipped["reason"]
    assert [h["status"] for h in api.history("mornings")] == ["skipped", "completed"]
    assert audit_of(alice, job["id"])[-2:] == [("automation.run_start", "success"), ("automation.run", "refused")]
    assert [n["type"] for n in alice.notifications.list()] == ["automation.completed"]


def test_an_unexpected_error_is_recorded_as_a_failed_run_audited_and_notified_then_raised(
    alice: UserAPI, api: AutomationAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = api.create("mornings", "lectures", DAILY)

    def broken_sync(*_args: object, **_kwargs: object) -> list[object]:  # the one stand-in: a crash mid-run
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(automation, "sync_sources", broken_sync)
    with pytest.raises(RuntimeError, match="disk on fire"):
        api.run("mornings")
    (history,) = api.history("mornings")
    assert (history["status"], history["reason"]) == ("failed", "RuntimeError: disk on fire")
    assert history["finished_at"] is not None
    assert audit_of(alice, job["id"]) == [("automation.run_start", "success"), ("automation.run", "failure")]
    notice = alice.notifications.list()[0]
    assert notice["type"] == "automation.failed" and "mornings" in notice["title"]


def test_every_change_to_a_job_bumps_the_revision_the_code_location_reloads_on(
    alice: UserAPI, api: AutomationAPI
) -> None:
    def revision() -> int:
        with alice.leap.db.session() as session:
            return automation.current_revision(session)

    seen = [revision()]
    api.create("mornings", "lectures", DAILY)
    seen.append(revision())
    api.disable("mornings")
    seen.append(revision())
    api.enable("mornings")
    seen.append(revision())
    api.update("mornings", schedule={"type": "hours", "hours": 6})
    seen.append(revision())
    api.run("mornings")  # a run changes no schedule
    seen.append(revision())
    api.delete("mornings")
    seen.append(revision())
    assert [b - a for a, b in pairwise(seen)] == [1, 1, 1, 1, 0, 1]


def test_schedule_specs_name_each_enabled_job_for_its_owner_and_keep_names_apart(
    alice: UserAPI, bob: UserAPI, api: AutomationAPI, tmp_path: Path
) -> None:
    bob.add_local_source("inbox", tmp_path / "bob-inbox")
    bob.add_template("talks", targets=["local"])
    api.create("Morning lectures", "lectures", DAILY)
    api.create("morning-lectures!", "lectures", {"type": "weekdays", "days": ["mon"], "time": "07:00"})
    api.create("off", "lectures", DAILY, enabled=False)
    AutomationAPI(bob).create("nightly", "talks", {"type": "hours", "hours": 6, "timezone": "Asia/Tokyo"})
    with alice.leap.db.session() as session:
        specs, skipped = automation.schedule_specs(session)
    names = [s.name for s in specs]
    assert names[0] == "alice__morning_lectures" and names[1].startswith("alice__morning_lectures_")
    assert names[2] == "bob__nightly" and skipped == []
    bobs = specs[2]
    assert (bobs.cron, bobs.timezone, bobs.tags["leap/user_slug"]) == ("0 0-23/6 * * *", "Asia/Tokyo", "bob")
    assert "every 6 h from midnight Asia/Tokyo" in bobs.description
