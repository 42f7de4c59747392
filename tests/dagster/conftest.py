"""A real Dagster instance plus a LEAP database on PostgreSQL, wired through the environment like `dagster dev`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, instance_for_test
from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext
from dagster._core.storage.defs_state.base import set_defs_state_storage

from leap_core.api import Leap, UserAPI
from leap_core.bootstrap import init_embedded
from leap_core.config import Settings
from leap_core.db.session import Database
from tests.fakes.vk import FakeVK
from tests.fakes.youtube import FakeYouTube
from tests.support.publishing import SECRET_KEY


@pytest.fixture
def leap_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_url: str) -> Leap:
    home = tmp_path / "leap-home"
    monkeypatch.setenv("LEAP_HOME", str(home))
    monkeypatch.setenv("LEAP_DATABASE_URL", pg_url)
    monkeypatch.setenv("LEAP_LOCAL_SOURCE_ROOTS", str(tmp_path))  # tests add sources beside the home
    settings = Settings(home=home, database_url=pg_url, local_source_roots=str(tmp_path))
    return Leap(settings, Database(pg_url))


@pytest.fixture
def demo(leap_env: Leap) -> UserAPI:
    init_embedded(leap_env)
    return leap_env.as_user("demo")


@pytest.fixture
def lecturer(
    monkeypatch: pytest.MonkeyPatch, youtube: FakeYouTube, vk: FakeVK, request: pytest.FixtureRequest
) -> UserAPI:
    """The demo user with a YouTube channel and a VK community connected (tests/support/publishing.py's
    fake platforms); their addresses are set before LEAP reads its settings."""
    monkeypatch.setenv("LEAP_YOUTUBE_ROOT_URL", youtube.url)
    monkeypatch.setenv("LEAP_GOOGLE_TOKEN_URI", youtube.token_uri)
    monkeypatch.setenv("LEAP_VK_API_URL", vk.url)
    monkeypatch.setenv("LEAP_SECRET_KEY", SECRET_KEY)
    demo: UserAPI = request.getfixturevalue("demo")
    demo.credentials.add("youtube", "channel", youtube.credentials())
    demo.credentials.add("vk", "community", {"token": vk.token})
    return demo


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as dagster_instance:
        yield dagster_instance


@pytest.fixture(autouse=True)
def _no_leaked_defs_state_storage() -> Iterator[None]:
    """Dagster keeps the current defs-state storage in a ContextVar that an earlier test's instance can leave
    set after it is gone; a later `build_definitions()` then fails on the dead instance's weakref. The
    usual culprit is an instance entered and never exited (a schedule context built from a persistent
    instance and not used with `with`): when the collector finalises it, its token resets the ContextVar
    to whatever was current then, mid-test. tests/support/dagster.py closes its contexts for that reason."""
    with set_defs_state_storage(None):
        yield


@pytest.fixture(autouse=True)
def _no_leaked_load_context() -> Iterator[None]:
    """Dagster keeps the definitions' load context in a class attribute that `ReconstructableRepository` sets
    (to RECONSTRUCTION) and never resets, so after a test that reconstructs a job in this process (an
    `execute_job` of a Celery run) every later import looked like a run worker's and built no automation
    schedules. Each test starts with none set, as a plain import has, and leaves the previous one behind."""
    with DefinitionsLoadContext.scoped(None):  # type: ignore[arg-type]
        yield
