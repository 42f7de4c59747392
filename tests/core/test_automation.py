"""Automation jobs: schedules in their timezone (DST included), quotas, runs that only request work, dry runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from leap_core import automation
from leap_core.api import UserAPI
from leap_core.api.automation import AutomationAPI
from leap_core.automation import Schedule, next_runs
from leap_core.db.base import Base
from leap_core.db.models import RunRequest
from leap_core.errors import QuotaExceededError, ValidationError
from tests.support.builders import register_many
from tests.support.cli import leap as run_leap

WINTER = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# schedules -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("config", "message"), [
    ({"type": "cron", "expression": "61 * * * *"}, "not a valid five-field cron"),
    ({"type": "cron", "expression": "* * * *"}, "not a valid five-field cron"),
    ({"type": "daily", "time": "06:00", "timezone": "Europe/Atlantis"}, "unknown timezone"),
    ({"type": "hours", "every": 0}, "N in 1-24"),
    ({"type": "hours", "every": 25}, "N in 1-24"),
    ({"type": "daily", "time": "6 am"}, "HH:MM"),
    ({"type": "weekdays", "days": [0, 8], "time": "08:00"}, "not a weekday"),
    ({"type": "monthly"}, "unknown schedule type"),
])
def test_a_bad_schedule_is_rejected_with_a_clear_reason(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Schedule.parse(config)


FIRES: list[tuple[str, dict[str, Any], datetime, datetime]] = [
    ("daily in Berlin winter time (UTC+1)", {"type": "daily", "time": "06:00", "timezone": "Europe/Berlin"},
     WINTER, datetime(2024, 1, 16, 5, 0, tzinfo=UTC)),
    ("daily in Berlin summer time (UTC+2)", {"type": "daily", "time": "06:00", "timezone": "Europe/Berlin"},
     datetime(2024, 7, 1, 12, tzinfo=UTC), datetime(2024, 7, 2, 4, 0, tzinfo=UTC)),
    ("daily in UTC when no timezone is given", {"type": "daily", "time": "06:00"},
     WINTER, datetime(2024, 1, 16, 6, 0, tzinfo=UTC)),
    ("every 5 hours restarts at local midnight in New York",
     {"type": "hours", "hours": 5, "timezone": "America/New_York"},
     datetime(2024, 1, 16, 1, 30, tzinfo=UTC), datetime(2024, 1, 16, 5, 0, tzinfo=UTC)),
    ("weekdays Monday and Friday 08:00 in Tokyo (Monday 08:00 JST is Sunday 23:00 UTC)",
     {"type": "weekdays", "days": [1, 5], "time": "08:00", "timezone": "Asia/Tokyo"},
     datetime(2024, 1, 13, 0, 0, tzinfo=UTC), datetime(2024, 1, 14, 23, 0, tzinfo=UTC)),
    ("weekday 7 is Sunday", {"type": "weekdays", "days": [7], "time": "10:00"},
     WINTER, datetime(2024, 1, 21, 10, 0, tzinfo=UTC)),
    ("cron in Kolkata (UTC+5:30)", {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Asia/Kolkata"},
     WINTER, datetime(2024, 1, 16, 3, 30, tzinfo=UTC)),
    ("spring forward: 02:30 does not exist in Berlin on 31 March, the job runs at 03:30 CEST",
     {"type": "daily", "time": "02:30", "timezone": "Europe/Berlin"},
     datetime(2024, 3, 30, 12, tzinfo=UTC), datetime(2024, 3, 31, 1, 30, tzinfo=UTC)),
    ("fall back: 02:30 happens twice in Berlin on 27 October, the job runs once, at the first",
     {"type": "daily", "time": "02:30", "timezone": "Europe/Berlin"},
     datetime(2024, 10, 26, 12, tzinfo=UTC), datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(("case", "config", "after", "expected"), FIRES, ids=[f[0] for f in FIRES])
def test_a_schedule_fires_at_its_wall_clock_time_in_its_timezone(
    case: str, config: dict[str, Any], after: datetime, expected: datetime
) -> None:
    assert Schedule.parse(config).next_after(after) == expected, case


def test_after_the_fall_back_the_daily_job_continues_at_the_same_local_time() -> None:
    fires = next_runs({"type": "daily", "time": "02:30", "timezone": "Europe/Berlin"},
                      datetime(2024, 10, 26, 12, tzinfo=UTC), 2)
    assert fires == [datetime(2024, 10, 27, 0, 30, tzinfo=UTC), datetime(2024, 10, 28, 1, 30, tzinfo=UTC)]


@pytest.mark.parametrize(("config", "hours"), [
    ({"type": "daily", "time": "06:00"}, 24),
    ({"type": "hours", "hours": 6}, 6),
    ({"type": "hours", "every": 6}, 6),  # the key LEAP stored before the specification's `hours`
    ({"type": "weekdays", "days": [1, 4], "time": "06:00"}, 72),
    ({"type": "cron", "expression": "*/15 * * * *"}, 0.25),
    ({"type": "daily", "time": "06:00", "timezone": "Europe/Berlin"}, 24),
])
def test_a_schedules_period_is_its_shortest_wall_clock_gap(config: dict[str, Any], hours: float) -> None:
    assert Schedule.parse(config).period_hours == hours


# jobs and quotas -----------------------------------------------------------------------------------

@pytest.fixture
def inbox(alice: UserAPI, tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    alice.add_local_source("inbox", folder)
    alice.add_template("lectures", targets=["local"], process_on_arrival=True)
    return folder


def jobs(alice: UserAPI, now: datetime = WINTER) -> AutomationAPI:
    return AutomationAPI(alice, clock=Clock(now))


DAILY_BERLIN = {"type": "daily", "time": "06:00", "timezone": "Europe/Berlin"}


def test_creating_a_job_sets_its_next_run_and_makes_the_template_wait_for_it(alice: UserAPI, inbox: Path) -> None:
    job = jobs(alice).create("mornings", "lectures", DAILY_BERLIN)
    assert job["next_run_at"] == datetime(2024, 1, 16, 5, 0, tzinfo=UTC)
    assert alice.templates_api.show("lectures")["process_on_arrival"] is False
    assert [e["action"] for e in alice.activity()][:2] == ["automation.create", "template.update"]


def test_the_number_of_jobs_is_limited_by_the_quota(
    alice: UserAPI, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MAX_AUTOMATION_JOBS", "1")
    jobs(alice).create("first", "lectures", DAILY_BERLIN)
    with pytest.raises(QuotaExceededError, match="already have 1 automation job"):
        jobs(alice).create("second", "lectures", DAILY_BERLIN)


def test_a_schedule_more_frequent_than_the_minimum_interval_is_rejected_on_save(
    alice: UserAPI, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MIN_AUTOMATION_INTERVAL_HOURS", "12")
    with pytest.raises(QuotaExceededError, match="every 6 h; your plan allows at most one run every 12 h"):
        jobs(alice).create("often", "lectures", {"type": "hours", "hours": 6})
    job = jobs(alice).create("daily", "lectures", DAILY_BERLIN)
    with pytest.raises(QuotaExceededError):
        jobs(alice).update(job["id"], schedule={"type": "cron", "expression": "0 * * * *"})


def test_a_run_requests_work_for_the_templates_initialized_recordings_and_records_a_summary(
    alice: UserAPI, inbox: Path
) -> None:
    api = jobs(alice)
    job = api.create("mornings", "lectures", DAILY_BERLIN)
    waiting = register_many(alice, 3)
    summary = api.run("mornings")
    assert {k: summary[k] for k in ("status", "matched", "launched", "skipped_by_quota")} == {
        "status": "completed", "matched": 3, "launched": 3, "skipped_by_quota": 0}
    with alice.leap.db.session() as session:
        requests = list(session.scalars(select(RunRequest)))
    assert sorted(r.recording_id for r in requests) == sorted(waiting)
    assert {(r.reason, r.automation_job_id, r.first_stage) for r in requests} == {("automation", job["id"], "download")}
    assert api.run("mornings")["matched"] == 0  # already requested: never asked for twice
    shown = api.show("mornings")
    assert shown["last_run_at"] == WINTER
    assert [h["launched"] for h in shown["history"]] == [0, 3]


def test_a_run_syncs_the_templates_sources_first(alice: UserAPI, inbox: Path) -> None:
    api = jobs(alice)
    api.create("mornings", "lectures", DAILY_BERLIN)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "talk.mp4").write_bytes(b"x" * 10)
    first = api.run("mornings")
    assert (first["found"], first["matched"]) == (1, 0)  # a local file counts once its size held for two scans


def test_a_run_sooner_than_the_minimum_interval_is_skipped_as_too_frequent_and_kept_in_history(
    alice: UserAPI, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MIN_AUTOMATION_INTERVAL_HOURS", "24")
    jobs(alice).create("mornings", "lectures", DAILY_BERLIN)
    register_many(alice, 2)
    assert jobs(alice, WINTER).run("mornings")["status"] == "completed"
    register_many(alice, 2)
    skipped = jobs(alice, WINTER + timedelta(hours=3)).run("mornings")
    assert skipped["status"] == "skipped"
    assert "too frequent" in skipped["reason"]
    assert (skipped["launched"], skipped["skipped_by_quota"]) == (0, 2)
    shown = jobs(alice).show("mornings")
    assert shown["last_run_at"] == WINTER
    assert [h["status"] for h in shown["history"]] == ["skipped", "completed"]
    assert jobs(alice, WINTER + timedelta(hours=24)).run("mornings")["launched"] == 2


def test_a_dst_change_does_not_make_a_daily_run_too_frequent(
    alice: UserAPI, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MIN_AUTOMATION_INTERVAL_HOURS", "24")
    jobs(alice).create("mornings", "lectures", DAILY_BERLIN)
    saturday_6_cet = datetime(2024, 3, 30, 5, 0, tzinfo=UTC)
    sunday_6_cest = datetime(2024, 3, 31, 4, 0, tzinfo=UTC)  # only 23 real hours later
    assert jobs(alice, saturday_6_cet).run("mornings")["status"] == "completed"
    assert jobs(alice, sunday_6_cest).run("mornings")["status"] == "completed"


def snapshot(alice: UserAPI) -> dict[str, list[tuple[Any, ...]]]:
    with alice.leap.db.session() as session:
        return {t.name: sorted(map(tuple, session.execute(select(t)).all()), key=repr)
                for t in Base.metadata.sorted_tables}


def test_a_dry_run_reports_what_would_happen_and_changes_nothing(
    alice: UserAPI, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MIN_AUTOMATION_INTERVAL_HOURS", "24")
    api = jobs(alice)
    api.create("mornings", "lectures", DAILY_BERLIN)
    waiting = register_many(alice, 2)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "new.mp4").write_bytes(b"x")
    before = snapshot(alice)
    first = api.dry_run("mornings")
    second = api.dry_run("mornings")  # a dry run never counts towards the minimum interval
    assert snapshot(alice) == before
    assert first == second
    assert (first["dry_run"], first["matched"], first["launched"]) == (True, 2, 0)
    assert sorted(first["recording_ids"]) == sorted(waiting)


def test_a_scheduled_run_moves_the_job_to_its_next_instant_and_a_disabled_job_is_skipped_not_run(
    alice: UserAPI, inbox: Path
) -> None:
    api = jobs(alice)
    mornings = api.create("mornings", "lectures", DAILY_BERLIN)
    evenings = api.create("evenings", "lectures", {"type": "daily", "time": "18:00", "timezone": "Europe/Berlin"})
    api.disable("evenings")
    register_many(alice, 1)
    late = datetime(2024, 1, 17, 12, 0, tzinfo=UTC)  # two mornings were missed: one catch-up run
    leap = alice.leap
    ran = automation.run_job(leap.db, automation.SCHEDULE_ACTOR, leap.settings, mornings["id"], "schedule", late)
    assert (ran.status, ran.launched) == ("completed", 1)
    skipped = automation.run_job(leap.db, automation.SCHEDULE_ACTOR, leap.settings, evenings["id"], "schedule", late)
    assert skipped.status == "skipped" and "disabled in LEAP" in (skipped.reason or "")
    listed = {j["name"]: j for j in api.list()}
    assert listed["mornings"]["next_run_at"] == datetime(2024, 1, 18, 5, 0, tzinfo=UTC)
    assert listed["evenings"]["next_run_at"] is None


def test_another_users_job_reads_as_missing(alice: UserAPI, bob: UserAPI, inbox: Path) -> None:
    jobs(alice).create("mornings", "lectures", DAILY_BERLIN)
    with pytest.raises(Exception, match="automation job not found"):
        jobs(bob).run("mornings")


# CLI -----------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("cli_env")
def test_the_cli_creates_shows_and_dry_runs_a_job_and_refuses_bad_schedules_in_one_line() -> None:
    run_leap("init")
    code, _, err = run_leap("automation", "add", "nightly", "--template", "inbox", "--cron", "61 * * * *")
    assert (code, err.strip()) == (1, "error: not a valid five-field cron expression: '61 * * * *'")
    code, _, err = run_leap("automation", "add", "nightly", "--template", "inbox", "--daily", "06:00", "--hours", "3")
    assert code == 1 and "exactly one of" in err
    code, out, _ = run_leap("automation", "add", "nightly", "--template", "inbox", "--weekdays", "1,3,5",
                            "--at", "07:30", "--timezone", "Europe/Berlin", "--json")
    assert code == 0 and json.loads(out)["schedule"]["days"] == [1, 3, 5]
    code, out, _ = run_leap("automation", "show", "nightly", "--json")
    assert code == 0 and len(json.loads(out)["upcoming"]) == 5
    code, out, _ = run_leap("automation", "dry-run", "nightly", "--json")
    assert code == 0 and json.loads(out)["dry_run"] is True
    code, out, _ = run_leap("automation", "history", "nightly", "--json")
    assert (code, json.loads(out)) == (0, [])
