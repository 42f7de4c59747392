"""Orchestration benchmark: N recordings dropped at once, run by a real daemon through the queue.

    .venv/bin/python bench/orchestration.py                 # the issue's 20 recordings, 5-minute lectures
    .venv/bin/python bench/orchestration.py --minutes 0.2   # 12 s lectures: fixed per-run costs dominate
    .venv/bin/python bench/orchestration.py --quick         # 6 recordings, a smoke run
    .venv/bin/python bench/orchestration.py --instance-config old/dagster.yaml   # compare a configuration

Everything runs as deployed on one machine: `deploy/commands.sh pools`, `code-server` and `daemon`
(the compose file's lines) on a fresh DAGSTER_HOME with the top-level dagster.yaml (queued coordinator,
pools), LEAP on its embedded SQLite default, the default run launcher (one run worker process per
recording). The clock starts once the daemon beats, so it measures recordings arriving at a running
deployment.

The reference is the stage work itself, measured in the same run: first the same recordings go
through LEAP's stage code (`Pipeline`: download, trim, transcribe, topics, subtitles, local export)
one after another in this process, with no Dagster; then through the deployment. Orchestration
overhead is how much longer the deployment takes, from the first run request to the last recording
done, than that serial pass. It also reports the `processing_stages` sums and per-run fixed costs.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dagster import DagsterEventType, DagsterInstance, RunsFilter  # noqa: E402
from dagster._daemon.controller import all_daemons_live  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.transcribe import lecture_sentences  # noqa: E402
from leap_core.api import Leap  # noqa: E402
from leap_core.audit import Actor  # noqa: E402
from leap_core.bootstrap import init_embedded  # noqa: E402
from leap_core.config import Settings  # noqa: E402
from leap_core.db.models import ProcessingStage, Recording, RunRequest, Source  # noqa: E402
from leap_core.db.session import Database  # noqa: E402
from leap_core.pipeline.facade import Pipeline  # noqa: E402
from leap_core.sources.sync import sync_sources  # noqa: E402
from leap_dagster.jobs import PIPELINE_ORDER  # noqa: E402
from tests.fixtures.media import LectureSpec, make_lecture  # noqa: E402
from tests.support.services import Service, prepare_dagster_home, service_environment  # noqa: E402

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
    arrival_s: float
    by_stage: dict[str, float]
    check_steps_s: float


@dataclass(frozen=True)
class Serial:
    wall_s: float
    cpu_s: float
    by_stage: dict[str, float]


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its descendants, live or already reaped (Linux /proc; any of its threads
    may have started a child, as the code server's gRPC threads start run workers)."""
    proc = Path(f"/proc/{pid}")
    try:
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        children = [int(c) for task in (proc / "task").iterdir() for c in (task / "children").read_text().split()]
    except FileNotFoundError:
        return 0.0
    own = sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
    return own + sum(cpu_seconds(child) for child in children)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def seconds_by(leap: Leap, key: Callable[[ProcessingStage], str]) -> dict[str, float]:
    """Elapsed time of the completed stages in `processing_stages`, summed by `key`."""
    with leap.db.session() as session:
        rows = session.scalars(select(ProcessingStage).where(ProcessingStage.status == "completed")).all()
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        assert row.completed_at is not None
        totals[key(row)] += (row.completed_at - row.started_at).total_seconds()
    return totals


def embedded_leap(home: Path) -> Leap:
    """A fresh embedded LEAP: SQLite, the inbox source and the demo template, as `leap init` leaves it."""
    settings = Settings(home=home)
    leap = Leap(settings, Database(settings.resolved_database_url))
    init_embedded(leap)
    return leap


def drop(leap: Leap, lecture: Path, count: int) -> None:
    for i in range(count):
        shutil.copy(lecture, leap.settings.resolved_inbox_dir / f"lecture-{i:02d}.mp4")


def serial_stage_work(home: Path, lecture: Path, count: int) -> Serial:
    """The reference: every recording through LEAP's stage code in turn, in one process, no orchestrator."""
    leap = embedded_leap(home)
    drop(leap, lecture, count)
    with leap.db.session() as session:
        source_ids = list(session.scalars(select(Source.id)))
    leap.settings.intake_stable_seconds = 0  # the files are complete when dropped: taken on the second listing
    for _ in range(2):  # a file is registered on one listing, taken once it held still until the next
        sync_sources(leap.db, Actor("bench", origin="cli"), leap.settings, source_ids)
    with leap.db.session() as session:
        recording_ids = list(session.scalars(select(Recording.id).order_by(Recording.partition_key)))
    pipeline = Pipeline(leap.settings, leap.db)
    started, cpu = time.monotonic(), time.process_time() + children_cpu()
    for recording_id in recording_ids:
        for stage in (pipeline.download, pipeline.trim, pipeline.transcribe, pipeline.topics, pipeline.subtitles,
                      pipeline.export_local):
            stage(recording_id)
    spent = time.process_time() + children_cpu() - cpu  # ffmpeg runs as child processes
    return Serial(time.monotonic() - started, spent, seconds_by(leap, lambda row: row.stage))


def wait_until_live(instance: DagsterInstance, services: list[Service]) -> None:
    """Until the daemon beats: the clock measures recordings arriving at a running deployment, not its start."""
    while not all_daemons_live(instance):
        for service in services:
            service.check()
        time.sleep(0.5)


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


def check_steps_s(instance: DagsterInstance, run_id: str) -> float:
    """Time the run spent in its asset-check steps (each re-reads a stored output): overhead, not stage work."""
    started: dict[str, float] = {}
    spent = 0.0
    kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
    for entry in instance.all_logs(run_id, of_type=kinds):
        step = entry.step_key or ""
        if entry.dagster_event_type is DagsterEventType.STEP_START:
            started[step] = entry.timestamp
        elif step in started and step not in PIPELINE_ORDER:
            spent += entry.timestamp - started[step]
    return spent


def measure(leap: Leap, instance: DagsterInstance, wall_s: float, dropped_at: float) -> Measured:
    with leap.db.session() as session:
        statuses = [r.value for r in session.scalars(select(Recording.status))]
        requests = {str(r.id): r.created_at.timestamp() for r in session.scalars(select(RunRequest))}
    by_run = seconds_by(leap, lambda row: row.run_id or "")
    every = [r for r in instance.get_run_records(RunsFilter(job_name="recording_pipeline"))
             if r.start_time and r.end_time]
    records = [r for r in every if "leap/checks_of" not in r.dagster_run.tags]  # the checks' runs: ADR 0032
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
        by_stage=seconds_by(leap, lambda row: row.stage),
        arrival_s=min(requests.values(), default=dropped_at) - dropped_at,
        check_steps_s=sum(check_steps_s(instance, r.dagster_run.run_id) for r in every),
    )


def report(count: int, serial: Serial, m: Measured, deployed_cpu: dict[str, float]) -> None:
    runs = len(m.run_time_s)
    after_arrival = m.wall_s - m.arrival_s
    overhead = 100 * (after_arrival - serial.wall_s) / serial.wall_s
    in_run = sum(m.run_time_s) - sum(m.stage_per_run_s)
    ideal = m.stage_work_s / PARALLEL_RUNS
    pooled = max(ideal, m.by_stage["transcribe"])  # the transcription pool runs one Whisper (on both cores) at a time
    fixed = (in_run + sum(m.launch_s)) / max(runs, 1)
    rows = [
        ("recordings", f"{count} ({', '.join(f'{k} {v}' for k, v in m.statuses.items())})"),
        ("runs measured", str(runs)),
        ("reference: the same recordings' stages run serially, no Dagster", f"{serial.wall_s:.1f} s"),
        ("wall time, first drop to last recording done", f"{m.wall_s:.1f} s"),
        ("  arrival: drop to first run request (sync scans)", f"{m.arrival_s:.1f} s"),
        ("  first run request to last recording done", f"{after_arrival:.1f} s"),
        ("orchestration overhead (that vs the reference)", f"{overhead:+.0f} %"),
        ("  per recording: (that - reference) / recordings", f"{(after_arrival - serial.wall_s) / count:.2f} s"),
        ("CPU: the serial pass (with its ffmpeg children)", f"{serial.cpu_s:.1f} s"),
        ("CPU: the deployment (code server with its run workers; daemon)",
         " + ".join(f"{cpu:.1f} s" for cpu in deployed_cpu.values())),
        ("stage work (sum of processing_stages elapsed)", f"{m.stage_work_s:.1f} s"),
        (f"ideal wall at {PARALLEL_RUNS} runs in parallel", f"{ideal:.1f} s"),
        ("end-to-end overhead (wall vs ideal)", f"{100 * (m.wall_s - ideal) / ideal:.0f} %"),
        ("  end-to-end overhead after arrival", f"{100 * (after_arrival - ideal) / ideal:.0f} %"),
        ("  ideal with one transcription at a time (pool)", f"{pooled:.1f} s"),
        ("  end-to-end overhead after arrival vs that", f"{100 * (after_arrival - pooled) / pooled:.0f} %"),
        ("in-run overhead (run time minus its stages)", f"{in_run:.1f} s = {100 * in_run / m.stage_work_s:.0f} %"),
        ("  of which asset-check steps", f"{m.check_steps_s:.1f} s"),
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
    print(f"\n{'stage':<12} {'serial s':>9} {'deployed s':>11}")
    for stage in sorted(set(serial.by_stage) | set(m.by_stage)):
        print(f"{stage:<12} {serial.by_stage.get(stage, 0.0):>9.1f} {m.by_stage.get(stage, 0.0):>11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="6 recordings")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of each generated lecture")
    parser.add_argument("--instance-config", type=Path, default=ROOT / "dagster.yaml",
                        help="the dagster.yaml to run with, e.g. an older one to compare against")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    count = 6 if args.quick else args.count
    spoken = tuple(lecture_sentences(args.minutes))
    lecture = make_lecture(LectureSpec(sentences=spoken, head_silence=1.5, tail_silence=1.5))
    print(f"lecture: {lecture.duration:.0f} s, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="leap-bench-") as tmp:
        home = Path(tmp)
        serial = serial_stage_work(home / "serial", lecture.path, count)
        prepare_dagster_home(home / "dagster", args.instance_config)
        env = service_environment(home / "dagster", {"LEAP_HOME": str(home / "leap")})
        leap = embedded_leap(home / "leap")
        services = [Service.start("code-server", env, home), Service.start("daemon", env, home)]
        with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            try:
                wait_until_live(instance, services)
                dropped_at, started = time.time(), time.monotonic()
                drop(leap, lecture.path, count)
                wait_until_done(leap, count, args.timeout, services)
                wall = time.monotonic() - started
                deployed_cpu = {service.name: cpu_seconds(service.process.pid) for service in services}
            finally:
                for running in services:
                    running.stop()
            report(count, serial, measure(leap, instance, wall, dropped_at), deployed_cpu)


if __name__ == "__main__":
    main()
