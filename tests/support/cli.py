"""Running the real `leap` command in-process against a test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leap_core.cli import app, context

runner = CliRunner()


def leap(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one `leap …` invocation."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[Path]:
    """LEAP_HOME and LEAP_DATABASE_URL for the CLI, with its cached `Leap` rebuilt around each test."""
    monkeypatch.setenv("LEAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LEAP_DATABASE_URL", database_url)
    monkeypatch.setenv("LEAP_LOCAL_SOURCE_ROOTS", str(tmp_path))
    context.leap.cache_clear()
    yield tmp_path
    context.leap.cache_clear()
