"""Schedules are validated when saved: every bad input is a typed error with a one-line reason, audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from leap_core.api import UserAPI
from leap_core.api.automation import AutomationAPI
from leap_core.automation import Schedule
from leap_core.errors import ValidationError
from tests.support.cli import leap as run_leap


@pytest.mark.parametrize(("config", "message"), [
    ({"type": "cron", "expression": "0 0 30 2 *"}, "never fires"),
    ({"type": "cron", "expression": "0 0 31 4,6,9,11 *"}, "never fires"),
    ({"type": "cron", "expression": "* " * 300}, "not a valid five-field cron"),
    ({"type": "daily", "time": "06:00", "timezone": "Europe/" + "x" * 300}, "at most 64 characters"),
    ({"type": "daily", "time": "06:00", "timezone": "A" * 65}, "at most 64 characters"),
    ({"type": "daily", "time": "06:00", "timezone": "../etc/passwd"}, "unknown timezone"),
    ({"type": "daily", "time": "06:00", "timezone": 5}, "IANA name"),
    ({"type": "daily", "time": "06:00+05:00"}, "has a UTC offset"),
    ({"type": "weekdays", "days": [1], "time": "06:00Z"}, "has a UTC offset"),
    ({"type": "weekdays", "days": [True], "time": "06:00"}, "True' is not a weekday"),
    ({"type": "weekdays", "days": [0], "time": "06:00"}, "not a weekday"),
    ({"type": "weekdays", "days": ["someday"], "time": "06:00"}, "not a weekday"),
    ({"type": "weekdays", "days": list(range(1, 8)) * 1000, "time": "06:00"}, "at most 7 days, got 7000"),
    ({"type": "weekdays", "days": "1,2", "time": "06:00"}, "needs a list of days"),
    ({"type": "weekdays", "days": [], "time": "06:00"}, "needs a list of days"),
    ({"type": "hours", "hours": True}, "N in 1-24"),
    ({"type": "hours", "hours": 6.5}, "N in 1-24"),
    ({"type": "hours"}, "N in 1-24"),
    ("daily", "a schedule is an object"),
])
def test_a_bad_schedule_is_refused_with_a_one_line_reason(config: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        Schedule.parse(config)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 200


@pytest.mark.parametrize(("days", "stored", "cron_days"), [
    ([5, 1, 1, 5], [1, 5], "1,5"),
    (["Mon", "friday", 3], [1, 3, 5], "1,3,5"),
    ([7, "sun"], [7], "0"),
])
def test_weekdays_take_iso_numbers_or_names_deduplicated(days: list[Any], stored: list[int], cron_days: str) -> None:
    parsed = Schedule.parse({"type": "weekdays", "days": days, "time": "08:15"})
    assert parsed.config["days"] == stored
    assert parsed.cron == f"15 8 * * {cron_days}"


def test_the_specifications_hours_schedule_is_accepted_and_every_still_reads() -> None:
    spec = Schedule.parse({"type": "hours", "hours": 6})
    assert (spec.config, spec.cron, spec.period_hours) == (
        {"type": "hours", "timezone": "UTC", "hours": 6}, "0 0-23/6 * * *", 6.0)
    assert Schedule.parse({"type": "hours", "every": 6}).config == spec.config


def test_a_refused_schedule_is_audited_with_its_reason_and_saves_nothing(alice: UserAPI, tmp_path: Path) -> None:
    alice.add_local_source("inbox", tmp_path / "inbox")
    alice.add_template("lectures", targets=["local"])
    api = AutomationAPI(alice, clock=lambda: datetime(2024, 1, 15, tzinfo=UTC))
    with pytest.raises(ValidationError, match="never fires"):
        api.create("leap-day", "lectures", {"type": "cron", "expression": "0 0 30 2 *"})
    assert api.list() == []
    refusal = alice.activity()[0]
    assert (refusal["action"], refusal["result"]) == ("automation.create", "refused")
    assert "never fires" in refusal["details"]["reason"]
    api.create("mornings", "lectures", {"type": "daily", "time": "06:00"})
    with pytest.raises(ValidationError, match="has a UTC offset"):
        api.update("mornings", schedule={"type": "daily", "time": "06:00+05:00"})
    assert api.show("mornings")["schedule"]["time"] == "06:00"
    assert alice.activity()[0]["action"] == "automation.update" and alice.activity()[0]["result"] == "refused"


@pytest.mark.usefixtures("cli_env")
def test_the_cli_takes_weekday_names_and_writes_the_specifications_hours_key() -> None:
    run_leap("init")
    code, out, _ = run_leap("automation", "add", "lab", "--template", "inbox", "--weekdays", "mon,wed,1",
                            "--at", "18:30", "--json")
    assert code == 0 and json.loads(out)["schedule"]["days"] == [1, 3]
    code, out, _ = run_leap("automation", "add", "often", "--template", "inbox", "--hours", "6", "--json")
    assert code == 0 and json.loads(out)["schedule"] == {"type": "hours", "timezone": "UTC", "hours": 6}
    code, _, err = run_leap("automation", "add", "bad", "--template", "inbox", "--cron", "0 0 30 2 *")
    assert (code, err.strip()) == (1, "error: the cron expression '0 0 30 2 *' never fires (no such date)")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "bad\x00name"])
def test_an_automation_job_name_is_one_to_a_hundred_printable_characters(
    alice: UserAPI, tmp_path: Path, name: str
) -> None:
    alice.add_local_source("inbox", tmp_path / "inbox")
    alice.add_template("lectures", targets=["local"])
    api = AutomationAPI(alice, clock=lambda: datetime(2024, 1, 15, tzinfo=UTC))
    with pytest.raises(ValidationError, match="1 to 100 printable characters"):
        api.create(name, "lectures", {"type": "daily", "time": "06:00"})
    assert api.list() == []
