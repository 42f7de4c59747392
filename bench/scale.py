"""One deployment for a whole university: ticks, user queries and the partition page at 100,000 recordings.

    python bench/scale.py                       # 1,000 users x 100 recordings, archive down to 20,000 live
    python bench/scale.py --users 100 --per-user 100 --live 2000      # a quick pass

Everything runs against PostgreSQL (LEAP's data and Dagster's instance, each in a scratch database that
is dropped afterwards; LEAP_BENCH_DATABASE_URL names the server's maintenance database). Rows are bulk
inserted (registration speed is not the point); the Dagster instance holds one live dynamic partition per
recording. Each measurement is the median of `--repeat` calls, taken twice: with every recording live,
then after retention archived all but `--live` of them. The partition page is the webserver's own
GraphQL query for an asset's partitions (a real `dagster-webserver` over the same instance), and with
`--screenshot PNG` a headless Chromium (playwright with /usr/bin/chromium) loads the asset's partition
page. Every live partition of `transcript` is materialised (one runless event each), as a published
recording's is. Goals (issue 21): every tick <= 2 s, every user-facing query <= 100 ms, the partition page <= 3 s,
memory of each process <= 500 MB, the live partition set bounded by retention.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from dagster import AssetKey, DagsterInstance, build_sensor_context
from quotas import BASE_URL, make_users
from search import sentence, vocabulary
from sqlalchemy import bindparam, create_engine, func, insert, select, text, update
from sqlalchemy.engine import make_url

from leap_core import launcher, partition_changes, retention, stats
from leap_core.api import Leap
from leap_core.audit import Actor
from leap_core.config import Settings, default_quotas
from leap_core.db.models import ProcessingStage, Recording, RunRequest, Source, Template
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.search.index import _PG_INSERT
from leap_core.search.terms import terms
from leap_core.states import RecordingStatus

ROOT = Path(__file__).resolve().parent.parent
ACTOR = Actor("bench", origin="cli")
PARTITIONS_QUERY = """
query Partitions($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      partitionKeysByDimension { name partitionKeys }
      assetPartitionStatuses {
        ... on DefaultPartitionStatuses { materializedPartitions failedPartitions materializingPartitions }
      }
    }
  }
}
"""


@contextmanager
def scratch(prefix: str) -> Iterator[tuple[str, str]]:
    """A fresh database: (its name, its SQLAlchemy URL), dropped on the way out."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(BASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield name, make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def dagster_home(folder: Path, db_name: str) -> Path:
    """A production-like instance: dagster-postgres storage (psycopg2 scheme), as deploy/ configures it."""
    url = make_url(BASE_URL)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_db:\n"
        f"      hostname: {url.host or '127.0.0.1'}\n      port: {url.port or 5432}\n"
        f"      username: {url.username or 'postgres'}\n      password: '{url.password or ''}'\n"
        f"      db_name: {db_name}\n      scheme: postgresql+psycopg2\n"
        "telemetry:\n  enabled: false\n")
    return folder


NEW_FILES = 10
"""Files waiting in the first user's inbox: the sync tick registers them, so they are live partitions too."""


def fill(db: Database, users: list[str], per_user: int, pending_per_user: int, inboxes: Path,
         cues: int) -> list[str]:
    """Per user: an inbox folder source, a template, `per_user` published recordings (stage history and
    `cues` searchable subtitle cues each) and a few pending run requests; one inbox holds `NEW_FILES` new
    files. Returns the partition keys."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    keys: list[str] = []
    rng = random.Random(7)
    words = vocabulary(rng)
    weights = list(itertools.accumulate(1 / (i + 1) for i in range(len(words))))
    for u in range(len(users)):
        (inboxes / f"u{u}").mkdir(parents=True)
    for i in range(NEW_FILES):
        (inboxes / "u0" / f"new-{i}.mp4").write_bytes(b"x")
    with db.session() as session:
        session.execute(insert(Source), [{"id": f"S{u:025d}", "user_id": uid, "kind": "local", "name": "inbox",
                                          "config": {"path": str(inboxes / f"u{u}")}, "enabled": True}
                                         for u, uid in enumerate(users)])
        session.execute(insert(Template), [{"id": f"T{u:025d}", "user_id": uid, "name": "lectures",
                                            "targets": ["local"], "rules": {}, "trim": {}, "presets": {},
                                            "retention": {}} for u, uid in enumerate(users)])
        for u, uid in enumerate(users):
            rows = [{"id": f"R{u:06d}{i:019d}", "user_id": uid, "source_id": f"S{u:025d}",
                     "template_id": f"T{u:025d}", "partition_key": f"2026-u{u}-lecture-{i}", "title": f"Lecture {i}",
                     "source_file_id": f"lecture-{i}.mp4", "source_name": f"lecture-{i}.mp4", "extension": "mp4",
                     "recorded_at": base + timedelta(hours=i), "status": "UPLOADED", "failed": False,
                     "retry_count": 0, "duration_s": 3000.0, "storage_bytes": 0, "version": 1,
                     "created_at": base, "updated_at": base + timedelta(hours=i)} for i in range(per_user)]
            session.execute(insert(Recording), rows)
            session.execute(insert(ProcessingStage), [
                {"recording_id": r["id"], "stage": stage, "status": "completed", "started_at": base,
                 "completed_at": base + timedelta(seconds=seconds), "details": {}}
                for r in rows for stage, seconds in (("download", 4), ("trim", 9), ("transcribe", 70))])
            session.execute(insert(RunRequest), [
                {"recording_id": r["id"], "user_id": uid, "first_stage": "upload:local", "reason": "bench",
                 "requested_by": "bench", "status": "pending"} for r in rows[:pending_per_user]])
            if cues:
                session.execute(_PG_INSERT, [_cue(rng, words, weights, r, uid, i) for r in rows for i in range(cues)])
            keys += [str(r["partition_key"]) for r in rows]
    return keys


PLANTED = (("two-phase locking", 0.005), ("transactions", 0.05))
"""Words planted in a share of the cues, so the searches below find a known number of moments."""


def _cue(rng: random.Random, words: list[str], weights: list[float], recording: dict[str, Any], user_id: str,
         position: int) -> dict[str, Any]:
    """One English subtitle cue, written through the pipeline's own INSERT (tsvector computed by PostgreSQL)."""
    roll, planted = rng.random(), None
    for word, share in PLANTED:
        if roll < share:
            planted = word
            break
        roll -= share
    text_ = sentence(rng, words, weights, False, planted)
    return {"recording_id": recording["id"], "user_id": user_id, "position": position, "start_s": 5.0 * position,
            "end_s": 5.0 * position + 4.5, "text": text_, "chapter": f"Part {position // 10 + 1}",
            "dictionary": "english", "terms": " ".join(terms(text_, "english"))}


MATERIALISED_ASSETS = ("transcript",)
"""The assets whose live partitions get a materialisation each: a published recording's partition is
green in Dagster, and the partition page's statuses (materialised subset, status cache) are computed from
those events. Only the measured page's asset: one event per key is what its status query reads."""


def materialise(instance: DagsterInstance, keys: list[str], assets: tuple[str, ...] = MATERIALISED_ASSETS) -> None:
    """One runless materialisation per partition key and asset, written in batches through the event log
    storage's own batch insert (the same rows `report_runless_asset_event` writes one at a time)."""
    from dagster import AssetKey, AssetMaterialization, DagsterEventType
    from dagster._core.events import DagsterEvent, StepMaterializationData
    from dagster._core.events.log import EventLogEntry
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID

    now = time.time()
    for asset in assets:
        for start in range(0, len(keys), 5_000):
            instance.event_log_storage.store_event_batch([EventLogEntry(
                user_message="", level=logging.INFO, job_name=RUNLESS_JOB_NAME, run_id=RUNLESS_RUN_ID, error_info=None,
                timestamp=now, step_key=None, dagster_event=DagsterEvent(
                    event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value, job_name=RUNLESS_JOB_NAME,
                    event_specific_data=StepMaterializationData(AssetMaterialization(
                        AssetKey(asset), partition=key, metadata={"leap/state": "UPLOADED"}))))
                for key in keys[start:start + 5_000]])


def analyze(leap_url: str, dagster_db: str) -> None:
    """ANALYZE both databases, as autovacuum would after a bulk load: a test server often runs without it,
    and without statistics PostgreSQL plans the retention sweep as if there were one recording (41 s)."""
    for url in (leap_url, make_url(BASE_URL).set(database=dagster_db).render_as_string(hide_password=False)):
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
        engine.dispose()


def median_s(call: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def webserver(home: Path, leap_url: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "LEAP_DATABASE_URL": leap_url}
    process = subprocess.Popen([str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1",
                                "-p", str(port), "-w", str(ROOT / "workspace.yaml")], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_code_location(url, time.monotonic() + 300)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


LOCATION_QUERY = ("{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { "
                  "__typename ... on PythonError { message } } } } } }")


def wait_for_code_location(url: str, deadline: float) -> None:
    """Until the webserver has LEAP's code location loaded: measuring the page before that times a spinner
    (the first run of this bench did), and a load error is raised, not measured."""
    while time.monotonic() < deadline:
        try:
            answer = httpx.post(f"{url}/graphql", json={"query": LOCATION_QUERY}, timeout=30).json()
        except (httpx.TransportError, ValueError):
            time.sleep(1)
            continue
        entries = (answer.get("data") or {}).get("workspaceOrError", {}).get("locationEntries") or []
        loaded = [e for e in entries if (e.get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation"]
        failed = [e for e in entries if (e.get("locationOrLoadError") or {}).get("__typename") == "PythonError"]
        if loaded:
            return
        if failed:
            raise RuntimeError(f"the webserver could not load LEAP's code: {failed[0]['locationOrLoadError']}")
        time.sleep(1)
    raise TimeoutError("the webserver did not load LEAP's code location in time")


def rss_mb_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def partition_page(url: str, repeat: int) -> float:
    def load() -> None:
        response = httpx.post(f"{url}/graphql", json={"query": PARTITIONS_QUERY,
                                                      "variables": {"path": ["transcript"]}}, timeout=120)
        response.raise_for_status()
        assert "errors" not in response.json(), response.text[:500]

    load()  # the first load warms the code location
    return median_s(load, repeat)


def browser_page(url: str, target: Path) -> dict[str, float]:
    """The asset's partition page in a headless Chromium, twice: cold (a fresh browser, empty cache, so the
    first load of Dagster's JavaScript bundle is in it) and warm (the same browser navigating to it again
    from another page: the page's own cost). Also the slowest GraphQL request of the warm load, which is
    the part of the page LEAP's data decides."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        cold = _until_a_key_shows(page, f"{url}/assets/transcript?view=partitions", target)
        skip = page.get_by_role("button", name="Skip")  # Dagster's first-visit newsletter dialog
        if skip.count():
            skip.first.click()
        page.screenshot(path=str(target))
        page.goto(f"{url}/assets", wait_until="networkidle", timeout=120_000)
        graphql: list[float] = []
        page.on("requestfinished", lambda request: graphql.append(request.timing["responseEnd"])
                if "/graphql" in request.url else None)
        warm = _until_a_key_shows(page, f"{url}/assets/transcript?view=partitions", target)
        browser.close()
    return {"browser: partition page, cold (JS bundle + data): a key shown": cold[0],
            "browser: partition page, cold: network idle": cold[1],
            "browser: partition page, warm (second navigation): a key shown": warm[0],
            "browser: partition page, warm: network idle": warm[1],
            "browser: slowest GraphQL request of the warm load": max(graphql, default=float("nan")) / 1000}


def _until_a_key_shows(page: Any, address: str, target: Path) -> tuple[float, float]:
    """Seconds from navigation until the asset's own page shows a partition key (what the operator waits
    for), and until the network is then idle too (Playwright's `networkidle`: 500 ms without a request,
    so it is never under 0.5 s more than the first)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    began = time.perf_counter()
    page.goto(address, wait_until="commit", timeout=120_000)
    try:
        page.get_by_text(re.compile(r"-u\d+-lecture-")).first.wait_for(timeout=120_000)
    except PlaywrightTimeout:
        page.screenshot(path=str(target))
        raise RuntimeError(f"the partition page never showed a partition key; see {target}") from None
    shown = time.perf_counter() - began
    page.wait_for_load_state("networkidle", timeout=120_000)
    return shown, time.perf_counter() - began


def measure(leap: Leap, instance: DagsterInstance, users: list[str], repeat: int,
            page_url: str | None) -> dict[str, float]:
    """Every figure of the table, in seconds; one sample user's views for the user-facing queries."""
    from leap_dagster.definitions import defs
    from leap_dagster.sensors import launcher_sensor, source_sync_sensor
    from leap_dagster.sensors.recovery import run_recovery_sensor

    me = leap.as_user(users[len(users) // 2], ACTOR)
    some = me.recordings(limit=1)[0]["id"]
    resources = dict(defs.resources or {})
    figures: dict[str, float] = {}
    with leap.db.session() as session:
        figures["launcher: next_batch (core)"] = median_s(
            lambda: launcher.next_batch(session, default_quotas(), leap.settings.launcher_batch_size), repeat)
        figures["retention: due (core)"] = median_s(lambda: retention.due(session, utcnow(), 500), repeat)
        for name, build in [("stats: per_user", stats.per_user), ("stats: platform_overview",
                            stats.platform_overview), ("stats: stage_times", stats.stage_times)]:
            figures[name] = median_s(lambda b=build: b(session), repeat)  # type: ignore[misc]
    figures["tick: run_recovery_sensor (reconciler page)"] = median_s(lambda: run_recovery_sensor(
        build_sensor_context(instance=instance, definitions=defs, resources=resources)), repeat)
    figures["tick: source_sync_sensor"] = median_s(lambda: source_sync_sensor(build_sensor_context(
        instance=instance, definitions=defs, resources=resources)), 1)
    figures["tick: launcher_sensor (no launch)"] = median_s(lambda: _launcher_tick_without_claims(
        launcher_sensor, instance, defs, resources, leap), repeat)
    for name, call in [("user: recordings(limit=50)", lambda: me.recordings(limit=50)),
                       ("user: recording(id)", lambda: me.recording(some)),
                       ("user: stages(id)", lambda: me.stages(some)),
                       ("user: tasks.list()", lambda: me.tasks.list()),
                       ("user: usage()", lambda: me.usage()),
                       ("user: activity()", lambda: me.activity()),
                       ("user: search a word (5 % of cues)", lambda: me.search("transactions")),
                       ("user: search a phrase (0.5 % of cues)", lambda: me.search('"two-phase locking"'))]:
        figures[name] = median_s(call, repeat)
    figures["dagster: get_dynamic_partitions"] = median_s(lambda: instance.get_dynamic_partitions("recordings"),
                                                          repeat)
    figures["dagster: get_materialized_partitions(transcript)"] = median_s(
        lambda: instance.get_materialized_partitions(AssetKey("transcript")), repeat)
    if page_url:
        figures["webserver: partition page (GraphQL)"] = partition_page(page_url, repeat)
    figures.update(bulk_operations(leap))
    return figures


BULK = 50
"""Recordings of one user in each timed bulk call: a page of the CLI's `recordings list`."""


def bulk_operations(leap: Leap) -> dict[str, float]:
    """A bulk archive and restore of `BULK` published recordings of one user who still has that many live
    (each call once: they change state). The partition changes they queue are applied by the next launcher
    ticks, as in a deployment."""
    live = (Recording.status == RecordingStatus.UPLOADED, Recording.archived_at.is_(None))
    with leap.db.session() as session:
        user_id = session.scalar(select(Recording.user_id).where(*live).group_by(Recording.user_id)
                                 .having(func.count() >= BULK).limit(1))
        ids = list(session.scalars(select(Recording.id).where(Recording.user_id == user_id, *live).limit(BULK)))
    me = leap.as_user(str(user_id), ACTOR)
    figures: dict[str, float] = {}
    for name, call in [(f"user: archive({len(ids)} ids)", me.archive), (f"user: restore({len(ids)} ids)", me.restore)]:
        began = time.perf_counter()
        call(ids)
        figures[name] = time.perf_counter() - began
    return figures


def _launcher_tick_without_claims(sensor: Any, instance: DagsterInstance, defs: Any, resources: dict[str, Any],
                                  leap: Leap) -> None:
    """A full launcher tick, then its claims undone, so every repeat sees the same queue."""
    sensor(build_sensor_context(instance=instance, definitions=defs, resources=resources))
    with leap.db.session() as session:
        session.execute(update(RunRequest).where(RunRequest.status == "submitted").values(status="pending"))


def archive_down_to(leap: Leap, instance: DagsterInstance, live: int) -> dict[str, float]:
    """Retention on every template, then retention ticks (LEAP's batch size) until only `live` recordings
    are left unarchived; the tick's figures, then the launcher's on the removal backlog they leave."""
    batch = leap.settings.retention_batch_size
    with leap.db.session() as session:
        total = retention.live_partition_count(session)
        session.execute(update(Template).values(retention={"days": 30}))
        session.execute(update(Recording).values(updated_at=utcnow()))
        cutoff = utcnow() - timedelta(days=31)
        session.execute(update(Recording).where(Recording.id.in_(select_oldest(total - live)))
                        .values(updated_at=cutoff))
    ticks: list[float] = []
    while True:
        began = time.perf_counter()
        with leap.db.session() as session:
            rows = retention.due(session, utcnow(), batch)
            report, _ = retention.archive(session, ACTOR, rows, leap.settings.resolved_storage_dir, "retention")
        ticks.append(time.perf_counter() - began)
        if not report.archived:
            break
    figures = {f"tick: retention, {batch} recordings (median)": statistics.median(ticks),
               f"tick: retention, {batch} recordings (slowest)": max(ticks)}
    figures.update(drain_removals(leap, instance))
    with leap.db.session() as session:
        live_now = retention.live_partition_count(session)
    print(f"retention archived down to {live_now:,} live partitions in {len(ticks)} ticks of {batch}: slowest "
          f"tick {max(ticks):.3f} s in LEAP; launcher ticks on the removal backlog: slowest "
          f"{figures.get(REMOVAL_TICK_SLOWEST, float('nan')):.3f} s, "
          f"{figures.get(REMOVALS_A_TICK, float('nan')):.0f} removals a tick, "
          f"{figures[PER_KEY] * 1000:.1f} ms a key in Dagster")
    return figures


PER_KEY_SAMPLE = 100
"""Removals timed one by one through Dagster's own call before the launcher ticks: its per-key cost."""
TIMED_REMOVAL_TICKS = 3
"""Dagster removes dynamic partitions one key at a time, so the launcher applies what its budget allows
(`LEAP_LAUNCHER_PARTITION_BUDGET_S`) each tick: the first ticks on the backlog are timed as the daemon
would run them; the bench then removes the rest of the backlog in one statement, to reach the archived
state in minutes instead of the hour the ticks would take over an 80,000-key backlog."""
PER_KEY = "dagster: delete_dynamic_partition, per key"
REMOVAL_TICK = "tick: launcher_sensor, removals pending (median)"
REMOVAL_TICK_SLOWEST = "tick: launcher_sensor, removals pending (slowest)"
REMOVALS_A_TICK = "launcher: removals applied a tick (median)"
REMOVALS_PENDING = "launcher: removals pending before its timed ticks"


def drain_removals(leap: Leap, instance: DagsterInstance) -> dict[str, float]:
    """The archive backlog's partition removals: a sample through Dagster's call (its per-key cost), then
    `TIMED_REMOVAL_TICKS` real launcher ticks carrying the backlog (claims undone, as the no-launch tick),
    then the rest in bulk, marked as the launcher marks them."""
    from leap_dagster.definitions import defs
    from leap_dagster.partitions import RECORDINGS
    from leap_dagster.sensors import launcher_sensor

    resources = dict(defs.resources or {})
    with leap.db.session() as session:
        sample = partition_changes.pending(session, PER_KEY_SAMPLE)
    began = time.perf_counter()
    for change in sample:
        instance.delete_dynamic_partition(RECORDINGS, change.partition_key)
    figures = {PER_KEY: (time.perf_counter() - began) / max(len(sample), 1)}
    with leap.db.session() as session:
        partition_changes.mark_applied(session, [change.request_id for change in sample])
    figures[REMOVALS_PENDING] = float(_pending_removals(leap))
    ticks: list[float] = []
    applied: list[int] = []
    for _ in range(TIMED_REMOVAL_TICKS):
        before = _pending_removals(leap)
        if not before:
            break
        ticks.append(median_s(lambda: _launcher_tick_without_claims(launcher_sensor, instance, defs, resources,
                                                                    leap), 1))
        applied.append(before - _pending_removals(leap))
    if ticks:
        figures.update({REMOVAL_TICK: statistics.median(ticks), REMOVAL_TICK_SLOWEST: max(ticks),
                        REMOVALS_A_TICK: float(statistics.median(applied))})
    with leap.db.session() as session:
        rest = partition_changes.pending(session, limit=None)
    _bulk_delete_partitions(instance, [change.partition_key for change in rest])
    for start in range(0, len(rest), 10_000):
        with leap.db.session() as session:
            partition_changes.mark_applied(session, [change.request_id for change in rest[start:start + 10_000]])
    return figures


def _pending_removals(leap: Leap) -> int:

    with leap.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(RunRequest).where(
            RunRequest.status == "pending", RunRequest.first_stage.in_(launcher.PARTITION_ONLY))) or 0)


def _bulk_delete_partitions(instance: DagsterInstance, keys: list[str]) -> None:

    storage: Any = instance.run_storage
    with storage.connect() as conn:
        for start in range(0, len(keys), 10_000):
            conn.execute(text("DELETE FROM dynamic_partitions WHERE partitions_def_name = 'recordings' "
                              "AND partition IN :keys").bindparams(bindparam("keys", expanding=True)),
                         {"keys": keys[start:start + 10_000]})


def select_oldest(count: int) -> Any:

    return select(Recording.id).order_by(Recording.updated_at).limit(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--per-user", type=int, default=100)
    parser.add_argument("--pending-per-user", type=int, default=5)
    parser.add_argument("--live", type=int, default=20_000,
                        help="live partitions after archiving, the inbox's new files included")
    parser.add_argument("--cues", type=int, default=10, help="searchable subtitle cues per recording")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-webserver", action="store_true")
    parser.add_argument("--unmaterialised", action="store_true",
                        help="leave every partition missing (the bench before 2026-12-04)")
    parser.add_argument("--screenshot", type=Path, help="time the partition page in Chromium (cold, warm) and "
                        "save it as PNG, one per phase (NAME-all-live.png, NAME-after-retention.png)")
    args = parser.parse_args()
    with scratch("leap_bench_scale") as (_, leap_url), scratch("dagster_bench_scale") as (dagster_db, _), \
            tempfile.TemporaryDirectory() as tmp:
        os.environ["LEAP_DATABASE_URL"] = leap_url
        os.environ["LEAP_HOME"] = str(Path(tmp) / "leap")
        os.environ["LEAP_LOCAL_SOURCE_ROOTS"] = str(Path(tmp) / "inboxes")  # the users' inboxes are allowed roots
        home = dagster_home(Path(tmp) / "dagster", dagster_db)
        os.environ["DAGSTER_HOME"] = str(home)
        db = Database(leap_url)
        db.upgrade()
        leap = Leap(Settings(home=Path(tmp) / "leap", database_url=leap_url,
                             local_source_roots=str(Path(tmp) / "inboxes")), db)
        began = time.perf_counter()
        users = make_users(db, args.users)
        keys = fill(db, users, args.per_user, args.pending_per_user, Path(tmp) / "inboxes", args.cues)
        instance = DagsterInstance.get()
        for start in range(0, len(keys), 10_000):
            instance.add_dynamic_partitions("recordings", keys[start:start + 10_000])
        if not args.unmaterialised:
            materialise(instance, keys)
        analyze(leap_url, dagster_db)
        print(f"filled {len(keys):,} recordings of {len(users):,} users and their partitions "
              f"in {time.perf_counter() - began:.0f} s")
        results: list[tuple[str, dict[str, float], tuple[float, float]]] = []
        for phase in ("all live", "after retention"):
            archived = archive_down_to(leap, instance, args.live - NEW_FILES) if phase == "after retention" else {}
            analyze(leap_url, dagster_db)
            page = None if args.no_webserver else webserver(home, leap_url)
            if page is None:
                figures, server_mb = measure(leap, instance, users, args.repeat, None), NO_SERVER
            else:
                with page as url:
                    figures = measure(leap, instance, users, args.repeat, url)
                    if args.screenshot:
                        figures.update(browser_page(url, args.screenshot.with_stem(
                            f"{args.screenshot.stem}-{phase.replace(' ', '-')}")))
                    server_mb = _webserver_rss(url)
            figures.update(archived)
            with leap.db.session() as session:
                figures["live partitions"] = float(retention.live_partition_count(session))
            results.append((phase, figures, server_mb))
            print_table(results, flush=True)
        print(f"\npeak RSS: bench process (LEAP + in-process sensors) "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
              f"webserver {' / '.join(f'{mb[0]:.0f} MB' for _, _, mb in results)}; "
              f"code server {' / '.join(f'{mb[1]:.0f} MB' for _, _, mb in results)}; "
              f"leap webhooks serve {webhooks_rss_mb(db):.0f} MB")
        db.dispose()


NO_SERVER = (float("nan"), float("nan"))


ADMIN = "bench-admin"
"""The admin `leap webhooks serve` runs as (an admin-only command)."""


def webhooks_rss_mb(db: Database, repeat: int = 20) -> float:
    """Peak RSS (MB) of `leap webhooks serve` (the receiver a deployment runs beside Dagster) after it has
    answered `repeat` health checks over HTTP; it reads LEAP's database per delivery, never all of it."""
    from leap_core.db.models import User

    with db.session() as session:
        session.execute(insert(User).values(id="A" * 26, slug=ADMIN, role="admin", preferences={},
                                            created_at=utcnow()))
    port = free_port()
    process = subprocess.Popen([str(Path(sys.executable).parent / "leap"), "webhooks", "serve", "--port", str(port)],
                               env={**os.environ, "LEAP_ACTOR": ADMIN},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                for _ in range(repeat):
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).raise_for_status()
                return rss_mb_of(process.pid)
            except httpx.HTTPError:
                time.sleep(0.5)
        return float("nan")
    finally:
        process.terminate()
        process.wait(timeout=10)


def _webserver_rss(url: str) -> tuple[float, float]:
    """Peak RSS (MB) of the webserver and of the code server it started for LEAP's location (its child)."""
    port = url.rsplit(":", 1)[1]
    found = subprocess.run(["sh", "-c", f"ss -ltnp 'sport = :{port}' | grep -o 'pid=[0-9]*' | head -1"],
                           capture_output=True, text=True).stdout.strip()
    if not found:
        return NO_SERVER
    pid = int(found.removeprefix("pid="))
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return rss_mb_of(pid), max((rss_mb_of(int(child)) for child in children), default=float("nan"))


COUNTS = {"live partitions", REMOVALS_A_TICK, REMOVALS_PENDING}
"""Rows that are counts, not seconds."""


def print_table(results: list[tuple[str, dict[str, float], tuple[float, float]]], flush: bool = False) -> None:
    names = list(dict.fromkeys(name for _, figures, _ in results for name in figures))
    print(f"\n{'measure':<52}" + "".join(f"{phase:>18}" for phase, _, _ in results) + f"{'goal':>10}")
    for name in names:
        goal = "<= 2 s" if name.startswith("tick") else "<= 3 s" if "page" in name else \
            "<= 100 ms" if name.startswith("user") else ""
        cells = []
        for _, figures, _ in results:
            value = figures.get(name, float("nan"))
            cells.append(f"{value:>18,.0f}" if name in COUNTS else f"{value * 1000:>15.1f} ms")
        print(f"{name:<52}" + "".join(cells) + f"{goal:>10}", flush=flush)


if __name__ == "__main__":
    main()
