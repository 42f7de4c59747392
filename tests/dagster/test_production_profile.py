"""The production profile from a fresh install: deploy/'s real services on PostgreSQL push recordings through.

`pip install` alone, then deploy/commands.sh's code server, daemon and webserver with
deploy/dagster.production.yaml on a new PostgreSQL database (Dagster) beside LEAP's: a dropped lecture
is found, run and published, and so is the next one after the daemon was SIGKILLed and restarted, and
after the code server was. The same with the Celery executor (one worker per queue group, on Redis).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from dagster import DagsterInstance
from sqlalchemy import URL

from leap_core.api import UserAPI
from tests.dagster.test_celery import BACKEND, BROKER, WORKERS, dagster_database  # noqa: F401 (a fixture)
from tests.fixtures.media import make_lecture
from tests.support.services import (
    ROOT,
    Service,
    free_port,
    prepare_dagster_home,
    service_environment,
    start_services,
)

pytestmark = pytest.mark.slow
DONE = {"UPLOADED", "FAILED", "SKIPPED"}


@pytest.fixture
def production(demo: UserAPI, tmp_path: Path, dagster_database: URL,  # noqa: F811
               monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The production profile's environment: Dagster on its own PostgreSQL database, LEAP on the test one."""
    url = dagster_database
    dagster_env = {"DAGSTER_PG_HOST": str(url.host), "DAGSTER_PG_PORT": str(url.port or 5432),
                   "DAGSTER_PG_USER": str(url.username), "DAGSTER_PG_PASSWORD": url.password or "",
                   "DAGSTER_PG_DB": str(url.database), "LEAP_MAX_CONCURRENT_RUNS": "4"}
    for key, value in dagster_env.items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "dagster"
    prepare_dagster_home(home, ROOT / "deploy" / "dagster.production.yaml")
    return service_environment(home, {
        **dagster_env, "LEAP_HOME": str(demo.leap.settings.home),
        "LEAP_DATABASE_URL": demo.leap.settings.resolved_database_url,
        "LEAP_LOCAL_SOURCE_ROOTS": str(tmp_path), "LEAP_WEBSERVER_PORT": str(free_port()),
    })


@pytest.fixture
def services(production: dict[str, str], tmp_path: Path) -> Iterator[dict[str, Service]]:
    started = start_services(("code-server", "daemon", "webserver"), production, tmp_path)
    yield started
    for service in started.values():
        service.stop()


def drop(demo: UserAPI, name: str) -> None:
    shutil.copy(make_lecture().path, Path(demo.sources()[0]["path"]) / name)


def wait_published(demo: UserAPI, count: int, services: dict[str, Service], timeout: float = 420,
                   fail_on_load_error: bool = False) -> list[dict]:
    """Until `count` recordings rest; a service that exits (bad config, import error) fails at once, and so
    does a code location that cannot load where no service is restarted (a restart makes that transient)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for service in services.values():
            service.check()
            if fail_on_load_error and "Error loading repository location" in service.log.read_text(errors="replace"):
                pytest.fail(f"{service.name} could not load LEAP's code:\n{service.log.read_text()[-3000:]}")
        rows = demo.recordings()
        if len(rows) == count and {r["status"] for r in rows} <= DONE:
            return rows
        time.sleep(1)
    logs = "\n".join(f"--- {s.name}\n{s.log.read_text(errors='replace')[-3000:]}" for s in services.values())
    pytest.fail(f"recordings {[r['status'] for r in demo.recordings()]} did not finish:\n{logs}")


def graphql(port: str, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


LOCATION = ('{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { __typename '
            '... on PythonError { message } } } } } }')
RELOAD = 'mutation { reloadRepositoryLocation(repositoryLocationName: "leap") { __typename } }'


def wait_for_location(port: str, services: dict[str, Service]) -> dict:
    """Until the webserver shows LEAP's code location loaded (it may start before the code server is up)."""
    answer: dict = {}
    for _ in range(240):
        services["webserver"].check()
        try:
            answer = graphql(port, LOCATION)
            (entry,) = answer["data"]["workspaceOrError"]["locationEntries"]
            if entry["locationOrLoadError"]["__typename"] == "RepositoryLocation":
                return entry
            graphql(port, RELOAD)
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the webserver never loaded LEAP's code location: {answer}")


def held_slots(production: dict[str, str]) -> int:
    with DagsterInstance.from_config(production["DAGSTER_HOME"]) as instance:
        storage = instance.event_log_storage
        return sum(storage.get_concurrency_info(p).active_slot_count for p in ("download", "media", "transcription"))


def restart(services: dict[str, Service], name: str, production: dict[str, str], folder: Path) -> None:
    """SIGKILL the service's whole process group (as the OOM killer or a host crash would), then start it again."""
    os.killpg(services[name].process.pid, signal.SIGKILL)
    services[name].process.wait()
    services[name] = Service.start(name, production, folder / f"restarted-{name}")


def test_the_production_profile_publishes_recordings_and_survives_killed_services(
    demo: UserAPI, production: dict[str, str], services: dict[str, Service], tmp_path: Path
) -> None:
    assert wait_for_location(production["LEAP_WEBSERVER_PORT"], services)["name"] == "leap"

    drop(demo, "first.mp4")
    assert [r["status"] for r in wait_published(demo, 1, services)] == ["UPLOADED"]

    (tmp_path / "restarted-daemon").mkdir()
    restart(services, "daemon", production, tmp_path)
    (tmp_path / "restarted-code-server").mkdir()
    restart(services, "code-server", production, tmp_path)
    drop(demo, "second.mp4")
    rows = wait_published(demo, 2, services)

    assert [r["status"] for r in rows] == ["UPLOADED", "UPLOADED"]
    assert len(demo.activity(action="target.upload")) == 2, "each recording published exactly once"
    assert held_slots(production) == 0


def test_the_production_profile_runs_each_step_as_a_celery_task(
    demo: UserAPI, production: dict[str, str], tmp_path: Path
) -> None:
    try:
        redis.Redis.from_url(BROKER).ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (the suite needs it)")
    production.update({"LEAP_EXECUTOR": "celery",
                       "LEAP_DEFINITIONS_FILE": str(ROOT / "deploy" / "celery_definitions.py"),
                       "LEAP_CELERY_BROKER": BROKER, "LEAP_CELERY_BACKEND": BACKEND,
                       "LEAP_CELERY_QUEUE_PREFIX": f"prod-{uuid.uuid4().hex[:8]}-"})
    started = start_services(("code-server", "daemon"), production, tmp_path)
    workers = [subprocess.Popen(["sh", "deploy/commands.sh", "celery-worker", *queues], cwd=ROOT, env=production,
                                stdout=(tmp_path / f"worker-{i}.log").open("wb"), stderr=subprocess.STDOUT,
                                start_new_session=True) for i, queues in enumerate(WORKERS)]
    try:
        drop(demo, "lecture.mp4")
        (recording,) = wait_published(demo, 1, started, fail_on_load_error=True)
        assert recording["status"] == "UPLOADED"
        assert "raw_video - STEP_START" in (tmp_path / "worker-0.log").read_text(errors="replace")
    finally:
        for service in started.values():
            service.stop()
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)


def test_the_container_image_and_compose_file_come_up() -> None:
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True) if shutil.which("docker") else None
    if probe is None or probe.returncode != 0:
        said = probe.stderr.strip().splitlines() if probe is not None else []
        why = said[-1] if said else "no container runtime on this machine"
        pytest.skip(f"not run: `docker info` failed ({why}); the image and compose file need a running Docker daemon")
    subprocess.run(["docker", "build", "-t", "leap:test", "-f", "deploy/Dockerfile", "."], cwd=ROOT, check=True)
    subprocess.run(["docker", "compose", "-f", "deploy/compose.yaml", "config", "-q"], cwd=ROOT, check=True,
                   env={**os.environ, "DAGSTER_PG_PASSWORD": "test", "LEAP_IMAGE": "leap:test"})
