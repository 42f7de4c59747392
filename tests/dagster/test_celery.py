"""The deployment: Celery tasks on Redis queued by pool, the pools command, the production profile, compose."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import yaml
from dagster import AssetKey, DagsterInstance, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.execution_result import ExecutionResult
from sqlalchemy import URL, create_engine, make_url, text

from leap_core.api import UserAPI
from tests.dagster.test_recovery import ROOT
from tests.fixtures.media import make_lecture
from tests.support.dagster import tick_sync

BROKER = "redis://127.0.0.1:6379/5"
BACKEND = "redis://127.0.0.1:6379/6"
ASSETS = ["raw_video", "trimmed_video", "transcript", "topics", "subtitles", "exported_video"]
# One worker per group of queues, as deploy/compose.yaml runs them (a worker listens on at most four).
WORKERS = [["download", "media", "transcription", "upload"], ["dagster"]]



@pytest.fixture
def celery_env(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        redis.Redis.from_url(BROKER).ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    monkeypatch.setenv("LEAP_CELERY_QUEUE_PREFIX", f"test-{uuid.uuid4().hex[:8]}-")  # runs share one Redis
    monkeypatch.setenv("LEAP_CELERY_BROKER", BROKER)
    monkeypatch.setenv("LEAP_CELERY_BACKEND", BACKEND)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def workers(celery_env: None, tmp_path: Path) -> Iterator[list[Worker]]:
    """The compose file's worker services: `deploy/commands.sh celery-worker <queues>`."""
    logs = [tmp_path / f"worker-{i}.log" for i in range(len(WORKERS))]
    procs = [
        subprocess.Popen(["sh", "deploy/commands.sh", "celery-worker", *queues], cwd=ROOT, env=os.environ.copy(),
                         stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        for queues, log in zip(WORKERS, logs, strict=True)
    ]
    yield [Worker(proc, log) for proc, log in zip(procs, logs, strict=True)]
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=30)


def run_through_celery(instance: DagsterInstance, partition_key: str) -> ExecutionResult:
    recon = ReconstructableRepository.for_file(
        str(ROOT / "deploy" / "celery_definitions.py"), "defs", working_directory=str(ROOT),
    ).get_reconstructable_job("recording_pipeline_celery")
    with execute_job(recon, instance=instance, tags={"dagster/partition": partition_key},
                     asset_selection=[AssetKey(a) for a in ASSETS]) as result:
        return result


def wait_for(runner: threading.Thread, workers: list[Worker]) -> None:
    """Until the run ends; a worker that dies (bad config, import error) ends the wait at once."""
    for _ in range(240):
        runner.join(timeout=0.5)
        if not runner.is_alive() or any(w.process.poll() is not None for w in workers):
            return


@pytest.mark.slow
def test_a_recordings_assets_run_as_celery_tasks_on_their_pools_queues(
    demo: UserAPI, instance: DagsterInstance, workers: list[Worker]
) -> None:
    shutil.copy(make_lecture().path, Path(demo.sources()[0]["path"]) / "lecture.mp4")
    tick_sync(instance)
    (key,) = tick_sync(instance) or [demo.recordings()[0]["partition_key"]]
    outcome: list[ExecutionResult] = []
    runner = threading.Thread(target=lambda: outcome.append(run_through_celery(instance, key)), daemon=True)

    runner.start()
    wait_for(runner, workers)

    pools_worker, default_worker = (w.output() for w in workers)
    assert outcome and outcome[0].success, f"the Celery run failed:\n{pools_worker[-3000:]}\n{default_worker[-3000:]}"
    (recording,) = demo.recordings()
    assert recording["status"] == "UPLOADED"
    for step in ("raw_video", "trimmed_video", "transcript", "exported_video"):
        assert f"{step} - STEP_START" in pools_worker and f"{step} - STEP_START" not in default_worker
    for step in ("topics", "subtitles"):
        assert f"{step} - STEP_START" in default_worker and f"{step} - STEP_START" not in pools_worker


def test_every_compose_service_of_ours_runs_a_line_of_commands_sh() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    script = (ROOT / "deploy" / "commands.sh").read_text()
    ours = {name: spec["command"] for name, spec in compose["services"].items() if name not in ("postgres", "redis")}

    assert {"code-server", "webserver", "daemon"} <= set(ours)
    assert {tuple(c[3:]) for n, c in ours.items() if n.startswith("celery-")} >= {("media", "download"), ("upload",)}
    for command in ours.values():
        assert command[:2] == ["sh", "deploy/commands.sh"] and f"    {command[2]})" in script


@pytest.mark.slow
def test_the_pools_command_sets_each_pool_limit_from_the_environment(tmp_path: Path) -> None:
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "LEAP_POOL_MEDIA": "3",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    subprocess.run(["sh", "deploy/commands.sh", "pools"], cwd=ROOT, env=env, check=True, capture_output=True)

    with DagsterInstance.from_config(str(tmp_path)) as instance:
        limits = {pool: instance.event_log_storage.get_concurrency_info(pool).slot_count
                  for pool in ("download", "media", "transcription", "upload", "automation")}
    assert limits == {"download": 4, "media": 3, "transcription": 1, "upload": 4, "automation": 1}


@pytest.fixture
def dagster_database(pg_url: str) -> Iterator[URL]:
    """Dagster's storage needs a database of its own: both it and LEAP keep an `alembic_version` table."""
    server = make_url(pg_url)
    name = f"dagster_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_production_profile_runs_on_postgresql_with_limits_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dagster_database: URL
) -> None:
    url = dagster_database
    for key, value in {"HOST": url.host, "PORT": str(url.port or 5432), "USER": url.username,
                       "PASSWORD": url.password or "", "DB": url.database}.items():
        monkeypatch.setenv(f"DAGSTER_PG_{key}", str(value))
    monkeypatch.setenv("LEAP_MAX_CONCURRENT_RUNS", "3")
    shutil.copy(ROOT / "deploy" / "dagster.production.yaml", tmp_path / "dagster.yaml")

    with DagsterInstance.from_config(str(tmp_path)) as instance:
        queue = instance.get_concurrency_config().run_queue_config
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert queue is not None and queue.max_concurrent_runs == 3
    assert queue.tag_concurrency_limits == [
        {"key": "leap/user", "value": {"applyLimitPerUniqueValue": True}, "limit": 2}]
