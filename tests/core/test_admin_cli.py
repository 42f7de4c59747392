"""`leap admin …`: the admin API on the command line, tables by default, --json, and CSV that reads back."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.support.cli import leap


@pytest.fixture
def admin_cli(cli_env: Path) -> Path:
    assert leap("init")[0] == 0  # the demo user is the admin
    return cli_env


def test_plans_print_as_a_table(admin_cli: Path) -> None:
    leap("admin", "plans", "create", "pro", "--limit", "max_recordings_per_month=100", "--limit",
         "max_storage_gb=unlimited")
    code, out, _ = leap("admin", "plans", "list")
    assert code == 0
    assert out.splitlines() == [
        "NAME  MAX_RECORDINGS_PER_MONTH  MAX_STORAGE_GB  MAX_CONCURRENT_TASKS  MAX_AUTOMATION_JOBS  "
        "MIN_AUTOMATION_INTERVAL_HOURS",
        "pro   100                       -               -                     -                    -",
    ]


def test_subscribing_and_overriding_show_in_the_users_quotas(admin_cli: Path) -> None:
    leap("admin", "plans", "create", "pro", "--limit", "max_recordings_per_month=100")
    assert leap("admin", "subscriptions", "set", "demo", "pro")[0] == 0
    assert leap("admin", "quotas", "override", "demo", "--limit", "max_concurrent_tasks=2")[0] == 0
    code, out, _ = leap("admin", "quotas", "show", "demo", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["quotas"]["max_concurrent_tasks"] == 2 and shown["quotas"]["source"] == "plan:pro"
    assert shown["usage"]["recordings_count"] == 0
    code, out, _ = leap("admin", "audit", "--action", "quota.*", "--json")
    assert [e["action"] for e in json.loads(out)] == ["quota.override"]


def test_a_bad_limit_is_one_line_and_exit_code_1(admin_cli: Path) -> None:
    code, _, err = leap("admin", "plans", "create", "odd", "--limit", "max_storage_gb=lots")
    assert (code, err) == (1, "error: --limit max_storage_gb: 'lots' is not a number or 'unlimited'\n")


def test_stats_export_to_csv_and_read_back_equal_to_the_json(admin_cli: Path) -> None:
    csv = admin_cli / "users.csv"
    code, out, _ = leap("admin", "stats", "users", "--csv", str(csv))
    assert code == 0 and out == f"wrote 1 row(s) to {csv}\n"
    exported = pd.read_csv(csv)
    _, as_json, _ = leap("admin", "stats", "users", "--json")
    assert exported.fillna("-").to_dict("records") == [
        {k: ("-" if v is None else v) for k, v in row.items()} for row in json.loads(as_json)]
    assert list(exported["user"]) == ["demo"]
