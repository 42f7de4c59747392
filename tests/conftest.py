"""Shared fixtures: a migrated LEAP database (SQLite and PostgreSQL), a `Leap`, a user with an inbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from leap_core.api import Leap, UserAPI, create_user
from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.db.session import Database
from tests.support.databases import postgres_clone, postgres_template

pytest_plugins = ["tests.support.cli", "tests.support.publishing"]  # shared fixtures (fake platforms)
TEST_ACTOR = Actor("tester", origin="api")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    with postgres_template() as name:
        yield name


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    with postgres_clone(pg_template) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every core test runs on both backends: SQLite is the embedded default, PostgreSQL production."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'leap.db'}"
        Database(url).upgrade()
        return url
    return str(request.getfixturevalue("pg_url"))


def make_leap(tmp_path: Path, url: str) -> Leap:
    settings = Settings(home=tmp_path / "home", database_url=url, local_source_roots=str(tmp_path))
    return Leap(settings, Database(url))


@pytest.fixture
def leap(tmp_path: Path, database_url: str) -> Iterator[Leap]:
    instance = make_leap(tmp_path, database_url)
    yield instance
    instance.db.dispose()


@pytest.fixture
def alice(leap: Leap) -> UserAPI:
    user = create_user(leap.db, TEST_ACTOR, "alice", "alice@example.org", "user")
    return leap.as_user(user["id"], TEST_ACTOR)


@pytest.fixture
def bob(leap: Leap) -> UserAPI:
    user = create_user(leap.db, TEST_ACTOR, "bob", None, "user")
    return leap.as_user(user["id"], TEST_ACTOR)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's LEAP_* settings or writes into the working tree's .leap/."""
    for key in list(os.environ):
        if key.startswith("LEAP_") and key != "LEAP_TEST_DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("LEAP_HOME", str(tmp_path / "leap-home"))
    # Intake's stability window (30 s by default) is the subject of tests/core/sources/test_intake.py, which
    # sets it; everywhere else a file written before the first sync is taken on the second, as a test expects.
    monkeypatch.setenv("LEAP_INTAKE_STABLE_SECONDS", "0")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # `leap init` records its home there
