"""Orchestration benchmark: N short recordings dropped at once, run by a real daemon through the queue.

    /tmp/venv/bin/python bench/orchestration.py            # the issue's 20 recordings
    /tmp/venv/bin/python bench/orchestration.py --quick    # 6 recordings, a smoke run

Everything runs as deployed on one machine: `deploy/commands.sh pools`, `code-server` and `daemon`
(the compose file's lines) on a fresh DAGSTER_HOME with the top-level dagster.yaml (queued coordinator,
pools), LEAP on its embedded SQLite default, the default run launcher (one run worker process per
recording). The reference is the stage work itself, measured in the same run from LEAP's
`processing_stages` rows: orchestration overhead is what the runs and the queue add on top of it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dagster import DagsterEventType, DagsterInstance, RunsFilter  # noqa: E402
from sqlalchemy import select  # noqa: E402

from leap_core.api import Leap  # noqa: E402
from leap_core.bootstrap import init_embedded  # noqa: E402
from leap_core.config import Settings  # noqa: E402
from leap_core.db.models import ProcessingStage, Recording, RunRequest  # noqa: E402
from leap_core.db.session import Database  # noqa: E402
from tests.fixtures.media import DEFAULT_SENTENCES, LectureSpec, make_lecture  # noqa: E402

DONE = {"UPLOADED", "FAILED", "SKIPPED"}
PARALLEL_RUNS = 2  # two cores: what the stage work could at best overlap to


@dataclass(frozen=True)
class Measured:
    wall_s: float
    statuses: dict[str, int]
    stage_work_s: float
    run_time_s: list[float]
    stage_per_run_s: list[float]
    queue_wait_s: list[float]
    launch_s: list[float]
    slot_busy_s: float
    request_to_run_s: list[float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAP_", "DAGSTER_"))}
    env.update({
        "DAGSTER_HOME": str(home / "dagster"), "LEAP_HOME": str(home / "leap"),
        "LEAP_CODE_SERVER_HOST": "127.0.0.1", "LEAP_CODE_SERVER_BIND": "127.0.0.1",
        "LEAP_CODE_SERVER_PORT": str(free_port()), "LEAP_WORKSPACE": str(ROOT / "deploy" / "workspace.yaml"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    })
    return env


@dataclass
class Service:
    """A deploy/commands.sh service in its own process group, so stopping it stops its children."""

    name: str
    log: Path
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, name: str, env: dict[str, str], folder: Path) -> Service:
        log = folder / f"{name}.log"
        process = subprocess.Popen(["sh", str(ROOT / "deploy" / "commands.sh"), name], cwd=ROOT, env=env,
                                   stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        return cls(name, log, process)

    def check(self) -> None:
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"{self.name} exited with {self.process.returncode}:\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


def wait_until_done(leap: Leap, count: int, timeout_s: float, services: list[Service]) -> None:
    """Until every recording is done, or the time box ends (the table then covers the runs that finished)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with leap.db.session() as session:
            statuses = list(session.scalars(select(Recording.status)))
        if len(statuses) == count and all(s.value in DONE for s in statuses):
            return
        for service in services:
            service.check()
        time.sleep(1.0)
    print(f"time box of {timeout_s:.0f} s reached: measuring the runs that finished", file=sys.stderr)


def dequeued_at(instance: DagsterInstance, run_id: str) -> float | None:
    """When the queue let the run go (RUN_STARTING): what follows until RUN_START is starting its worker."""
    for kind in (DagsterEventType.RUN_DEQUEUED, DagsterEventType.RUN_STARTING):
        found = instance.get_records_for_run(run_id, of_type=kind).records
        if found:
            return found[0].event_log_entry.timestamp
    return None


def measure(leap: Leap, instance: DagsterInstance, wall_s: float) -> Measured:
    with leap.db.session() as session:
        statuses = [r.value for r in session.scalars(select(Recording.status))]
        rows = session.scalars(select(ProcessingStage).where(ProcessingStage.status == "completed")).all()
        requests = {str(r.id): r.created_at.timestamp() for r in session.scalars(select(RunRequest))}
    by_run: dict[str, float] = defaultdict(float)
    for row in rows:
        assert row.completed_at is not None
        by_run[row.run_id or ""] += (row.completed_at - row.started_at).total_seconds()
    records = [r for r in instance.get_run_records(RunsFilter(job_name="recording_pipeline"))
               if r.start_time and r.end_time]
    dequeued = {r.dagster_run.run_id: dequeued_at(instance, r.dagster_run.run_id) or r.start_time for r in records}
    return Measured(
        wall_s=wall_s,
        statuses={s: statuses.count(s) for s in sorted(set(statuses))},
        stage_work_s=sum(by_run.values()),
        run_time_s=[r.end_time - r.start_time for r in records],  # type: ignore[operator]
        stage_per_run_s=[by_run.get(r.dagster_run.run_id, 0.0) for r in records],
        queue_wait_s=[dequeued[r.dagster_run.run_id] - r.create_timestamp.timestamp() for r in records],  # type: ignore[operator]
        launch_s=[r.start_time - dequeued[r.dagster_run.run_id] for r in records],  # type: ignore[operator]
        slot_busy_s=sum(r.end_time - dequeued[r.dagster_run.run_id] for r in records),  # type: ignore[operator,misc]
        request_to_run_s=[r.create_timestamp.timestamp() - requests[r.dagster_run.tags["leap/request"]]
                          for r in records if r.dagster_run.tags.get("leap/request") in requests],
    )


def report(count: int, m: Measured) -> None:
    runs = len(m.run_time_s)
    in_run = sum(m.run_time_s) - sum(m.stage_per_run_s)
    ideal = m.stage_work_s / PARALLEL_RUNS
    fixed = (in_run + sum(m.launch_s)) / max(runs, 1)
    rows = [
        ("recordings", f"{count} ({', '.join(f'{k} {v}' for k, v in m.statuses.items())})"),
        ("runs measured", str(runs)),
        ("wall time, first drop to last recording done", f"{m.wall_s:.1f} s"),
        ("stage work (sum of processing_stages elapsed)", f"{m.stage_work_s:.1f} s"),
        (f"ideal wall at {PARALLEL_RUNS} runs in parallel", f"{ideal:.1f} s"),
        ("end-to-end overhead (wall vs ideal)", f"{100 * (m.wall_s - ideal) / ideal:.0f} %"),
        ("in-run overhead (run time minus its stages)", f"{in_run:.1f} s = {100 * in_run / m.stage_work_s:.0f} %"),
        ("launch: dequeued to RUN_START, median", f"{statistics.median(m.launch_s):.2f} s"),
        ("per-recording fixed overhead (launch + in-run)", f"{fixed:.2f} s"),
        ("run slots busy (dequeue to end) / wall x slots", f"{100 * m.slot_busy_s / (m.wall_s * PARALLEL_RUNS):.0f} %"),
        ("queue wait for a slot, median", f"{statistics.median(m.queue_wait_s):.2f} s"),
        ("request to run created (sensor cadence), median",
         f"{statistics.median(m.request_to_run_s):.2f} s" if m.request_to_run_s else "-"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'measure'.ljust(width)}  value")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="6 recordings")
    parser.add_argument("--timeout", type=float, default=280.0)
    args = parser.parse_args()
    count = 6 if args.quick else args.count
    lecture = make_lecture(LectureSpec(sentences=DEFAULT_SENTENCES[:2], head_silence=1.5, tail_silence=1.5))
    with tempfile.TemporaryDirectory(prefix="leap-bench-") as tmp:
        home = Path(tmp)
        env = environment(home)
        (home / "dagster").mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster" / "dagster.yaml")
        settings = Settings(home=home / "leap")
        leap = Leap(settings, Database(settings.resolved_database_url))
        inbox = Path(init_embedded(leap)["inbox"])
        services = [Service.start("code-server", env, home), Service.start("daemon", env, home)]
        try:
            started = time.monotonic()
            for i in range(count):
                shutil.copy(lecture.path, inbox / f"lecture-{i:02d}.mp4")
            wait_until_done(leap, count, args.timeout, services)
            wall = time.monotonic() - started
        finally:
            for running in services:
                running.stop()
        os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
        with DagsterInstance.get() as instance:
            report(count, measure(leap, instance, wall))


if __name__ == "__main__":
    main()
