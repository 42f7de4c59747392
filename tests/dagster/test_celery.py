"""The deployment: Celery tasks on Redis queued by pool, the pools command, the production profile, compose."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import yaml
from dagster import AssetKey, DagsterInstance, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.execution_result import ExecutionResult
from sqlalchemy import URL, create_engine, make_url, select, text

from leap_core.api import UserAPI
from leap_core.api.automation import AutomationAPI
from leap_core.db.models import AutomationRun, RunRequest
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


@contextmanager
def started_workers(groups: list[list[str]], logs: Path) -> Iterator[list[Worker]]:
    """The compose file's worker services, one per group of queues: `deploy/commands.sh celery-worker <queues>`."""
    paths = [logs / f"worker-{i}.log" for i in range(len(groups))]
    procs = [
        subprocess.Popen(["sh", "deploy/commands.sh", "celery-worker", *queues], cwd=ROOT, env=os.environ.copy(),
                         stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        for queues, log in zip(groups, paths, strict=True)
    ]
    try:
        yield [Worker(proc, log) for proc, log in zip(procs, paths, strict=True)]
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)


@pytest.fixture
def workers(celery_env: None, tmp_path: Path) -> Iterator[list[Worker]]:
    with started_workers(WORKERS, tmp_path) as started:
        yield started


def run_through_celery(instance: DagsterInstance, partition_key: str) -> ExecutionResult:
    recon = ReconstructableRepository.for_file(
        str(ROOT / "deploy" / "celery_definitions.py"), "defs", working_directory=str(ROOT),
    ).get_reconstructable_job("recording_pipeline_celery")
    with execute_job(recon, instance=instance, tags={"dagster/partition": partition_key},
                     asset_selection=[AssetKey(a) for a in ASSETS]) as result:
        return result


def wait_for(ended: Callable[[], bool], workers: list[Worker]) -> None:
    """Until the run ends; a worker that dies (bad config, import error) ends the wait at once."""
    for _ in range(240):
        if ended() or any(w.process.poll() is not None for w in workers):
            return
        time.sleep(0.5)


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
    wait_for(lambda: not runner.is_alive(), workers)

    pools_worker, default_worker = (w.output() for w in workers)
    assert outcome and outcome[0].success, f"the Celery run failed:\n{pools_worker[-3000:]}\n{default_worker[-3000:]}"
    (recording,) = demo.recordings()
    assert recording["status"] == "UPLOADED"
    for step in ("raw_video", "trimmed_video", "transcript", "exported_video"):
        assert f"{step} - STEP_START" in pools_worker and f"{step} - STEP_START" not in default_worker
    for step in ("topics", "subtitles"):
        assert f"{step} - STEP_START" in default_worker and f"{step} - STEP_START" not in pools_worker


@pytest.mark.slow
def test_an_automation_run_is_a_celery_task_on_the_automation_queue(
    demo: UserAPI, instance: DagsterInstance, celery_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What a schedule's tick starts, under LEAP_EXECUTOR=celery: `dagster job execute` loads the definitions
    as the code server does, and the `celery-automation` worker of deploy/compose.yaml runs the op."""
    monkeypatch.setenv("LEAP_EXECUTOR", "celery")  # before the workers start: they load the definitions too
    job = AutomationAPI(demo, clock=lambda: datetime.now(UTC) - timedelta(hours=1)).create(
        "mornings", "inbox", {"type": "cron", "expression": "*/5 * * * *", "timezone": "UTC"})
    shutil.copy(make_lecture().path, Path(demo.sources()[0]["path"]) / "lecture.mp4")
    tick_sync(instance)
    tick_sync(instance)  # INITIALIZED, waiting for the job
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"ops": {"run_automation_job": {"config": {"job_id": job["id"]}}}}))

    with started_workers([["automation"], ["dagster"]], tmp_path) as (automation_worker, default_worker):
        log = tmp_path / "run.log"
        run = subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "job", "execute",
                                "-m", "leap_dagster.definitions", "-a", "defs", "-j", "automation_run",
                                "-c", str(config)], cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        wait_for(lambda: run.poll() is not None, [automation_worker, default_worker])
        if run.poll() is None:
            run.kill()
            run.wait()

    assert run.returncode == 0, f"{log.read_text()[-3000:]}\n{automation_worker.output()[-3000:]}"
    assert "run_automation_job - STEP_START" in automation_worker.output()
    assert "run_automation_job - STEP_START" not in default_worker.output()
    (dagster_run,) = instance.get_runs()
    assert (dagster_run.job_name, dagster_run.status.value) == ("automation_run", "SUCCESS")
    with demo.leap.db.session() as session:
        (request,) = session.scalars(select(RunRequest)).all()
        (history,) = session.scalars(select(AutomationRun)).all()
    assert (request.reason, request.automation_job_id) == ("automation", job["id"])
    assert (history.status, history.dagster_run_id) == ("completed", dagster_run.run_id)


def test_every_compose_service_of_ours_runs_a_line_of_commands_sh() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    script = (ROOT / "deploy" / "commands.sh").read_text()
    ours = {name: spec["command"] for name, spec in compose["services"].items() if name not in ("postgres", "redis")}

    assert {"code-server", "webserver", "daemon"} <= set(ours)
    assert {tuple(c[3:]) for n, c in ours.items() if n.startswith("celery-")} >= {("media", "download"), ("upload",)}
    for command in ours.values():
        assert command[:2] == ["sh", "deploy/commands.sh"] and f"    {command[2]})" in script
    assert "LEAP_EXECUTOR" in compose["x-leap"]["environment"]  # else no service could pick Celery


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
