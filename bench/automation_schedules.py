"""Automation jobs as Dagster schedules at scale: definitions build and code location reload with N jobs.

    .venv/bin/python bench/automation_schedules.py                 # 0 and 1,000 jobs, 100 users
    .venv/bin/python bench/automation_schedules.py --jobs 0 100 1000 3000
    .venv/bin/python bench/automation_schedules.py --keep           # leave the last database for a UI look

Needs PostgreSQL (LEAP_TEST_DATABASE_URL or --server, default postgresql+psycopg://postgres@127.0.0.1:5432);
each size gets a fresh database, migrated, with N jobs over N/10 users created through the API. Per size:

- read: the code location's one database read (revision + every enabled job, parsed into specs);
- build: `build_definitions()` in this process (read + N ScheduleDefinitions + Definitions);
- snapshot: the repository snapshot the code server serialises for the webserver and the daemon;
- import: a fresh `python -c "import leap_dagster.definitions"` (what the code server pays, and what every run
  worker paid before it skipped the schedules);
- run worker: a fresh process rebuilding the definitions the way `dagster api execute_run|execute_step` does
  (`ReconstructableRepository.get_definition()`, Dagster's RECONSTRUCTION load), which builds no automation
  schedules; `--worker-schedules` measures it building them as before, for the comparison;
- read split (with `--profile`): where the read's time goes (query, schedule parsing, specs), and the build's
  (ScheduleDefinition construction, Definitions) at this size.
- reload: a real `dagster code-server start` asked to `reload_code` over gRPC (a new definitions process),
  then the daemon's view of it fetched again (`GrpcServerCodeLocation`, the full snapshot) — the work that
  `automation_reload_sensor`'s GraphQL reload sets off in `dagster dev` and in production.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from leap_core.api import Leap, create_user
from leap_core.api.automation import AutomationAPI
from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.db.session import Database

ACTOR = Actor("bench", origin="cli")
SCHEDULES = [
    {"type": "daily", "time": "06:00", "timezone": "Europe/Berlin"},
    {"type": "weekdays", "days": [1, 3, 5], "time": "18:30", "timezone": "America/New_York"},
    {"type": "hours", "hours": 6, "timezone": "Asia/Tokyo"},
    {"type": "cron", "expression": "15 9 * * 1-5", "timezone": "Asia/Kolkata"},
]
JOBS_PER_USER = 10


@contextmanager
def fresh_database(server: str, name: str, keep: bool) -> Iterator[str]:
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{server}/{name}"
    try:
        yield url
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def populate(url: str, home: Path, jobs: int) -> float:
    db = Database(url)
    db.upgrade()
    leap = Leap(Settings(home=home, database_url=url, local_source_roots=str(home)), db)
    began = time.perf_counter()
    for u in range(max(1, jobs // JOBS_PER_USER) if jobs else 0):
        user = create_user(db, ACTOR, f"user{u:04d}", None, "user")
        me = leap.as_user(user["id"], ACTOR)
        me.add_template("lectures", targets=["local"])
        api = AutomationAPI(me)
        for j in range(min(JOBS_PER_USER, jobs - u * JOBS_PER_USER)):
            api.create(f"job {j:02d}", "lectures", SCHEDULES[j % len(SCHEDULES)])
    db.dispose()
    return time.perf_counter() - began


def in_process(url: str) -> dict[str, Any]:
    os.environ["LEAP_DATABASE_URL"] = url
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster_shared.serdes import serialize_value

    from leap_core.config import Settings as FreshSettings
    from leap_dagster import schedules
    from leap_dagster.definitions import build_definitions

    began = time.perf_counter()
    loaded = schedules.read_specs(FreshSettings())
    read_s = time.perf_counter() - began
    began = time.perf_counter()
    defs = build_definitions()
    repo = defs.get_repository_def()
    repo.load_all_definitions()
    build_s = time.perf_counter() - began
    began = time.perf_counter()
    snapshot = serialize_value(RepositorySnap.from_def(repo))
    snap_s = time.perf_counter() - began
    return {"specs": len(loaded.specs), "schedules": len(repo.schedule_defs), "read_s": read_s, "build_s": build_s,
            "snapshot_s": snap_s, "snapshot_kib": len(snapshot) / 1024}


def fresh_import(url: str) -> float:
    env = {**os.environ, "LEAP_DATABASE_URL": url}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import leap_dagster.definitions"], env=env, check=True,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


WORKER = """
import sys, time
began = time.perf_counter()
from dagster._core.code_pointer import CodePointer
from dagster._core.definitions.reconstruct import ReconstructableRepository
if sys.argv[1] == "build":  # the comparison: a worker that builds the schedules as before
    import leap_dagster.schedules as s
    s.loading_for_a_run = lambda: False
repo = ReconstructableRepository(CodePointer.from_module("leap_dagster.definitions", "defs", None)).get_definition()
print(len(repo.schedule_defs), time.perf_counter() - began)
"""


def run_worker(url: str, schedules: bool) -> tuple[int, float]:
    """(schedules built, seconds) for a fresh process loading the definitions as a run worker does."""
    env = {**os.environ, "LEAP_DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-c", WORKER, "build" if schedules else "skip"], env=env, check=True,
                          capture_output=True, text=True)
    count, seconds = done.stdout.split()[-2:]
    return int(count), float(seconds)


def profile(url: str) -> dict[str, float]:
    """The read and build split into their parts, in this process (warm imports)."""
    from sqlalchemy.orm import Session

    from leap_core import automation
    from leap_dagster import schedules

    engine = create_engine(url)
    with Session(engine) as session:
        began = time.perf_counter()
        rows = session.execute(text("SELECT j.schedule FROM automation_jobs j WHERE j.enabled")).all()
        query_s = time.perf_counter() - began
        began = time.perf_counter()
        specs, _ = automation.schedule_specs(session)
        specs_s = time.perf_counter() - began
    engine.dispose()
    began = time.perf_counter()
    built = [schedules.automation_schedule(spec) for spec in specs]
    construct_s = time.perf_counter() - began
    assert len(built) == len(specs) and len(rows) >= len(specs)
    return {"query_s": query_s, "specs_s": specs_s, "construct_s": construct_s}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reload_cost(url: str, home: Path) -> tuple[float, float, float]:
    """(first load until the server answers, reload_code, the daemon's snapshot fetch after it) in seconds."""
    from dagster import DagsterInstance
    from dagster._core.remote_origin import GrpcServerCodeLocationOrigin
    from dagster._grpc.client import DagsterGrpcClient

    port = free_port()
    env = {**os.environ, "LEAP_DATABASE_URL": url, "LEAP_HOME": str(home), "DAGSTER_HOME": str(home)}
    began = time.perf_counter()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(port),
         "-m", "leap_dagster.definitions", "--location-name", "leap"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = DagsterGrpcClient(port=port, host="127.0.0.1")
    try:
        origin = GrpcServerCodeLocationOrigin(host="127.0.0.1", port=port, location_name="leap")
        with DagsterInstance.ephemeral() as instance:
            while True:
                try:
                    client.ping("x")
                    origin.create_location(instance).cleanup()  # the proxy answers once its child has loaded
                    break
                except Exception:
                    if time.perf_counter() - began > 300:
                        raise
                    time.sleep(0.2)
            first_s = time.perf_counter() - began
            began = time.perf_counter()
            client.reload_code(timeout=300)
            reload_s = time.perf_counter() - began
            began = time.perf_counter()
            location = origin.create_location(instance)
            names = location.get_repositories()["__repository__"].get_schedules()
            fetch_s = time.perf_counter() - began
            location.cleanup()
            assert names is not None
    finally:
        server.terminate()
        try:
            server.wait(90)
        except subprocess.TimeoutExpired:  # a loaded machine: the proxy waits for its child to exit
            server.kill()
            server.wait()
    return first_s, reload_s, fetch_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, nargs="+", default=[0, 1000])
    default_server = os.environ.get("LEAP_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--server", default=str(make_url(default_server).set(database="")).rstrip("/"))
    parser.add_argument("--keep", action="store_true", help="keep the last database (its URL is printed)")
    parser.add_argument("--no-reload", action="store_true", help="skip the code server's load and reload")
    args = parser.parse_args()
    rows = []
    for jobs in args.jobs:
        name = f"leap_bench_schedules_{jobs}"
        with tempfile.TemporaryDirectory() as tmp, fresh_database(args.server, name, args.keep) as url:
            home = Path(tmp)
            create_s = populate(url, home, jobs)
            measured = in_process(url)
            import_s = fresh_import(url)
            measured["worker_skip"] = run_worker(url, schedules=False)
            measured["worker_build"] = run_worker(url, schedules=True)
            measured.update(profile(url))
            first_s, reload_s, fetch_s = (0.0, 0.0, 0.0) if args.no_reload else reload_cost(url, home)
            rows.append((jobs, create_s, measured, import_s, first_s, reload_s, fetch_s))
            if args.keep:
                print(f"kept {url}")
    print("| jobs | schedules | API creates s | DB read s | build s | snapshot s (KiB) | fresh import s "
          "| code server first load s | reload_code s | daemon re-fetch s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for jobs, create_s, m, import_s, first_s, reload_s, fetch_s in rows:
        print(f"| {jobs:,} | {m['schedules'] - 2:,} | {create_s:.1f} | {m['read_s']:.3f} | {m['build_s']:.2f} "
              f"| {m['snapshot_s']:.2f} ({m['snapshot_kib']:,.0f}) | {import_s:.2f} | {first_s:.2f} | {reload_s:.2f} "
              f"| {fetch_s:.2f} |")
    print()
    print("| jobs | run worker, schedules built: count, s | run worker, skipped: count, s "
          "| jobs query s | specs (query + parse) s | ScheduleDefinitions s |")
    print("|---|---|---|---|---|---|")
    for jobs, _, m, *_ in rows:
        (built_n, built_s), (skip_n, skip_s) = m["worker_build"], m["worker_skip"]
        print(f"| {jobs:,} | {built_n - 2:,}, {built_s:.2f} | {skip_n - 2:,}, {skip_s:.2f} | {m['query_s']:.3f} "
              f"| {m['specs_s']:.3f} | {m['construct_s']:.3f} |")


if __name__ == "__main__":
    main()
