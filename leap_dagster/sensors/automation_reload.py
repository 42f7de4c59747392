"""`automation_reload_sensor`: brings the automation schedules in step with the LEAP database (ADR 0030).

Every change to a job (through the API or the CLI) bumps `automation_revision`. When the database's
revision differs from the one this code location loaded, the sensor asks the webserver to reload the
location (GraphQL `reloadRepositoryLocation`, the same call as the UI's Reload button). The code server
(`dagster code-server start`, which `dagster dev` also runs) restarts its definitions process with the
new schedules; the daemon and the webserver watch the server's id and pick them up within seconds. A
standalone `dagster-daemon run` without a webserver needs no request: it restarts its own code servers
every 60 s.

It also keeps LEAP's `enabled` the one truth: a LEAP-enabled job's schedule stopped in the Dagster UI is
switched back to its default (running), with a log line that says how to stop it for real. And it closes
the history rows of `automation_run` runs that ended without finishing them (a killed process).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Sequence

from dagster import DagsterRunStatus, DefaultSensorStatus, RunsFilter, SensorEvaluationContext, SkipReason, sensor
from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType

from leap_core import automation
from leap_dagster.resources import LeapResource
from leap_dagster.schedules import LOADED

log = logging.getLogger("leap.automation.reload")
CHECK_INTERVAL_S = 15
RETRY_AFTER_S = 60
"""A reload asked for but not seen (the webserver was down, or is slow) is asked for again after this."""
RELOAD_TIMEOUT_S = 120
RELOAD_MUTATION = """
mutation Reload($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) {
    __typename
    ... on WorkspaceLocationEntry { locationOrLoadError { __typename ... on PythonError { message } } }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
    ... on RepositoryLocationNotFound { message }
  }
}
"""
last_reload: threading.Thread | None = None
"""The latest request's thread (tests join it); the request outlives the tick that made it."""


def reload_location(webserver_url: str, location: str) -> str:
    """Ask the webserver to reload `location`; returns the outcome as one line (never raises)."""
    body = json.dumps({"query": RELOAD_MUTATION, "variables": {"name": location}}).encode()
    request = urllib.request.Request(f"{webserver_url.rstrip('/')}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=RELOAD_TIMEOUT_S) as response:
            reply = json.loads(response.read())["data"]["reloadRepositoryLocation"]
    except Exception as exc:  # the webserver is optional (a standalone daemon reloads by itself)
        return f"reload of {location!r} through {webserver_url} failed: {type(exc).__name__}: {exc}"
    kind = reply.get("__typename")
    inner = (reply.get("locationOrLoadError") or {}).get("__typename")
    if kind == "WorkspaceLocationEntry" and inner == "RepositoryLocation":
        return f"reloaded {location!r} through {webserver_url}"
    message = reply.get("message") or (reply.get("locationOrLoadError") or {}).get("message")
    return f"reload of {location!r} through {webserver_url} answered {kind}/{inner}: {message}"


def _request_reload(webserver_url: str, location: str) -> None:
    """In a thread, after this tick has returned: the reload replaces the process evaluating the tick."""
    global last_reload

    def work() -> None:
        time.sleep(0.5)
        outcome = reload_location(webserver_url, location)
        (log.info if outcome.startswith("reloaded") else log.warning)(outcome)

    last_reload = threading.Thread(target=work, name="leap-automation-reload", daemon=True)
    last_reload.start()


ENDED = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]


def close_abandoned(context: SensorEvaluationContext, leap: LeapResource) -> list[int]:
    """History rows still "started" whose `automation_run` run has ended: recorded as failed, owner told."""
    core = leap.get()
    with core.db.session() as session:
        started = automation.started_runs(session)
    if not started:
        return []
    ended = context.instance.get_runs(RunsFilter(run_ids=list(started), statuses=ENDED))
    if not ended:
        return []
    with core.db.session() as session:
        return automation.abandon_runs(session, automation.SCHEDULE_ACTOR,
                                       {run.run_id: run.status.value for run in ended})


def restart_stopped(context: SensorEvaluationContext, names: Sequence[str], location: str) -> list[str]:
    """LEAP-enabled schedules an operator stopped in the UI, set back to their default status (running)."""
    wanted = set(names)
    restarted = []
    states = context.instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE,
                                                   instigator_statuses={InstigatorStatus.STOPPED})
    for state in states:
        if state.name in wanted and state.origin.repository_origin.code_location_origin.location_name == location:
            context.instance.update_instigator_state(state.with_status(InstigatorStatus.DECLARED_IN_CODE))
            restarted.append(state.name)
    if restarted:
        log.warning("schedules stopped in the Dagster UI were started again, because LEAP still has their jobs "
                    "enabled (stop one with `leap automation disable JOB`): %s", ", ".join(restarted))
    return restarted


@sensor(minimum_interval_seconds=CHECK_INTERVAL_S, default_status=DefaultSensorStatus.RUNNING,
        description="Reloads this code location when automation jobs change, so each job's schedule follows "
                    "LEAP within a minute; restarts schedules stopped in the UI whose jobs LEAP has enabled.")
def automation_reload_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SkipReason:
    core = leap.get()
    origin = context.code_location_origin
    location = origin.location_name if origin else core.settings.dagster_location
    with core.db.session() as session:
        current = automation.current_revision(session)
    restarted = restart_stopped(context, [spec.name for spec in LOADED.specs], location)
    closed = close_abandoned(context, leap)
    note = f"; started again (stopped in the UI, enabled in LEAP): {', '.join(restarted)}" if restarted else ""
    note += f"; {len(closed)} automation run(s) whose Dagster run ended unfinished recorded as failed" if closed else ""
    if LOADED.revision == current:
        return SkipReason(f"{len(LOADED.specs)} automation schedule(s) loaded at revision {current}: up to date{note}")
    asked = json.loads(context.cursor) if context.cursor else {}
    if asked.get("revision") == current and time.time() - float(asked.get("at", 0)) < RETRY_AFTER_S:
        return SkipReason(f"reload for revision {current} requested at {asked.get('at_text')}; waiting for it{note}")
    url = core.settings.dagster_webserver_url
    _request_reload(url, location)
    context.update_cursor(json.dumps({"revision": current, "at": time.time(),
                                      "at_text": time.strftime("%H:%M:%S", time.gmtime())}))
    loaded = "none (database unreachable at load)" if LOADED.revision is None else LOADED.revision
    return SkipReason(f"automation jobs changed (loaded revision {loaded}, database {current}): reload of code "
                      f"location {location!r} requested through {url}{note}")
