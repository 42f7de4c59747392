"""Settings are the one reader of LEAP's configuration: built once per environment, validated with a
one-line error, and free of Dagster."""

from __future__ import annotations

import subprocess
import sys

import pytest

from leap_core.config import get_settings, reset_settings
from leap_core.errors import ConfigurationError
from leap_core.pools import POOLS


def test_the_settings_are_built_once_per_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    assert get_settings() is first
    monkeypatch.setenv("LEAP_POOL_MEDIA", "3")
    changed = get_settings()
    assert changed is not first
    assert changed.pool_limits.as_dict() == {**{n: p.default_limit for n, p in POOLS.items()}, "media": 3}
    reset_settings()
    assert get_settings() is not changed


@pytest.mark.parametrize(("variable", "value", "line"), [
    ("LEAP_TRANSCRIBER", "whisper", "bad setting LEAP_TRANSCRIBER='whisper': Input should be 'local' or 'openai'"),
    ("LEAP_POOL_UPLOAD", "-1", "bad setting LEAP_POOL_UPLOAD='-1': Input should be greater than or equal to 0"),
    ("LEAP_DEFAULT_MAX_STORAGE_GB", "lots",
     "bad setting LEAP_DEFAULT_MAX_STORAGE_GB='lots': Input should be a valid number, "
     "unable to parse string as a number"),
    ("LEAP_SUMMARY_TIMEZONE", "Mars/Olympus",
     "bad setting LEAP_SUMMARY_TIMEZONE='Mars/Olympus': Value error, not a known IANA time zone (e.g. Europe/Moscow)"),
])
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, line: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        get_settings()
    assert str(raised.value) == line


def test_the_cli_stops_on_a_bad_value_with_that_line() -> None:
    env = {"LEAP_EXECUTOR": "threads", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    done = subprocess.run([sys.executable, "-c", "from leap_core.cli import main; main()", "--help"], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: bad setting LEAP_EXECUTOR='threads': Input should be 'in_process' or 'celery'"


def test_leap_core_never_imports_dagster() -> None:
    code = ("import sys, leap_core.config, leap_core.pools, leap_core.cli, leap_core.db.schema, leap_core.logs; "
            "print('dagster' in sys.modules, 'alembic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_an_empty_pool_variable_means_the_tables_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAP_POOL_MEDIA", "")  # deploy/compose.yaml passes every LEAP_POOL_* through, unset = ""
    assert get_settings().pool_limits.as_dict()["media"] == POOLS["media"].default_limit == 2
