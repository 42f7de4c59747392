"""Quotas that count rows themselves (automation jobs) stay exact under concurrent callers on PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from leap_core.api import Leap, UserAPI
from leap_core.api.automation import AutomationAPI
from leap_core.errors import QuotaExceededError
from tests.support.admins import make_admin

DAILY = {"type": "daily", "time": "06:00", "timezone": "Europe/Berlin"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_twenty_concurrent_automation_job_creates_against_a_limit_of_three_leave_exactly_three(
    leap: Leap, alice: UserAPI, tmp_path: Path
) -> None:
    admin = make_admin(leap)
    admin.create_plan("three-jobs", max_automation_jobs=3)
    admin.subscribe("alice", "three-jobs")
    alice.add_local_source("inbox", tmp_path / "inbox")
    alice.add_template("lectures", targets=["local"])
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def worker(n: int) -> None:
        start.wait(timeout=30)
        try:
            AutomationAPI(alice).create(f"job-{n}", "lectures", DAILY)
            outcomes.append("created")
        except QuotaExceededError as error:
            outcomes.append(f"refused: {error}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes.count("created") == 3
    assert outcomes.count("refused: you already have 3 automation job(s), the most your plan allows") == 17
    assert len(AutomationAPI(alice).list()) == 3
    refusals = alice.activity(action="quota.exceeded")
    assert len(refusals) == 17
    assert {(r["result"], r["details"]["quota"], r["details"]["limit"]) for r in refusals} == {
        ("refused", "max_automation_jobs", 3)}
    notices = [n for n in alice.notifications.list() if n["type"] == "quota.reached"]
    assert [n["data"]["quota"] for n in notices] == ["max_automation_jobs"]  # once a day, not 17 times
    assert "the most your plan allows" in notices[0]["body"]


def test_a_refused_create_over_the_minimum_interval_is_audited_and_told(
    alice: UserAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MIN_AUTOMATION_INTERVAL_HOURS", "12")
    alice.add_local_source("inbox", tmp_path / "inbox")
    alice.add_template("lectures", targets=["local"])
    with pytest.raises(QuotaExceededError, match="at most one run every 12 h"):
        AutomationAPI(alice).create("often", "lectures", {"type": "hours", "every": 6})
    (refusal,) = alice.activity(action="quota.exceeded")
    assert refusal["details"]["quota"] == "min_automation_interval_hours"
    assert AutomationAPI(alice).list() == []
