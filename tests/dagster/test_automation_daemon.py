"""The whole path on a real `dagster dev` (webserver, daemon, code server): a job created through the API
becomes a schedule without a restart, its tick runs `automation_run`, which writes run requests, and
disabling the job takes the schedule away. The one test here that waits on a real daemon's clock."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from leap_core.api import UserAPI
from leap_core.api.automation import AutomationAPI
from leap_core.db.models import AutomationRun, RunRequest
from tests.support.builders import register_many

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")
SCHEDULES = """
query { schedulesOrError(repositorySelector: {repositoryLocationName: "leap", repositoryName: "__repository__"}) {
  __typename ... on Schedules { results { name cronSchedule scheduleState { status } } } } }
"""
RUNS = """
query { runsOrError(filter: {pipelineName: "automation_run"}) {
  ... on Runs { results { runId status tags { key value } } } } }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def graphql(url: str, query: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read())["data"])


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float) -> tuple[T, float]:
    """Poll until `probe` gives a value; returns it and how long it took (reported, never asserted)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        try:
            value = probe()
        except OSError:
            value = None
        if value:
            return value, time.monotonic() - began
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def schedule_names(url: str) -> list[str]:
    found = graphql(url, SCHEDULES)["schedulesOrError"]
    return [s["name"] for s in found.get("results", [])]


@pytest.fixture
def dagster_dev(demo: UserAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    (tmp_path / "workspace.yaml").write_text(
        f"load_from:\n  - python_module:\n      module_name: leap_dagster.definitions\n"
        f"      location_name: leap\n      working_directory: {REPO}\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DAGSTER_HOME": str(home), "LEAP_DAGSTER_WEBSERVER_URL": url,
           "LEAP_DATABASE_URL": demo.leap.settings.resolved_database_url,
           "LEAP_DEFAULT_MAX_CONCURRENT_TASKS": "0",  # the launcher keeps the requests: no recording work here
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    log = (tmp_path / "dagster-dev.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(tmp_path / "workspace.yaml"),
         "-h", "127.0.0.1", "-p", str(port)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        wait_for("the webserver and the code location", lambda: "automation_reload_sensor" in json.dumps(
            graphql(url, '{ sensorsOrError(repositorySelector: {repositoryLocationName: "leap", '
                         'repositoryName: "__repository__"}) { ... on Sensors { results { name } } } }')), 240)
        yield url
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
        log.close()


@pytest.mark.slow
def test_a_job_created_through_the_api_reaches_the_running_daemon_and_its_tick_writes_run_requests(
    demo: UserAPI, dagster_dev: str
) -> None:
    url = dagster_dev
    assert schedule_names(url) == ["credential_health_schedule", "notification_summary_schedule"]
    api = AutomationAPI(demo)
    job = api.create("every minute", "inbox", {"type": "cron", "expression": "* * * * *"})
    waiting = register_many(demo, 2)

    _, appeared_s = wait_for("the schedule", lambda: "demo__every_minute" in schedule_names(url), 120)
    print(f"schedule appeared {appeared_s:.1f} s after the API call")

    def finished_run() -> dict[str, Any] | None:
        runs = graphql(url, RUNS)["runsOrError"]["results"]
        return next((r for r in runs if r["status"] in ("SUCCESS", "FAILURE")), None)

    run, _ = wait_for("the tick's automation_run to finish", finished_run, 150)
    assert run["status"] == "SUCCESS"
    assert {"key": "leap/automation_job", "value": job["id"]} in run["tags"]
    with demo.leap.db.session() as session:
        requests = session.scalars(select(RunRequest).where(RunRequest.automation_job_id == job["id"])).all()
        history = session.scalars(select(AutomationRun)).all()
    assert sorted(r.recording_id for r in requests) == sorted(waiting)
    assert [(h.status, h.dagster_run_id) for h in history][:1] == [("completed", run["runId"])]

    api.disable("every minute")
    _, gone_s = wait_for("the schedule to go", lambda: "demo__every_minute" not in schedule_names(url), 120)
    print(f"schedule removed {gone_s:.1f} s after disable")
