"""Concurrency pools hold across runs: the deployed daemon never lets more ffmpeg steps run than `media` allows."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import pytest
from dagster import DagsterInstance, RunsFilter

from leap_core.api import UserAPI
from leap_core.bootstrap import INBOX_TEMPLATE
from leap_dagster.sqlite_pools import LOCK_FILE
from tests.fixtures.media import DEFAULT_SENTENCES, LectureSpec, make_lecture
from tests.support.services import prepare_dagster_home, service_environment, start_services

RECORDINGS = 3
FINISHED = {"UPLOADED", "FAILED", "SKIPPED"}
Span = tuple[float, float]


@pytest.fixture
def deployed(demo: UserAPI, tmp_path: Path) -> Iterator[DagsterInstance]:
    """Code server and daemon from deploy/commands.sh, the `media` pool limited to one step at a time."""
    home = tmp_path / "dagster"
    prepare_dagster_home(home)
    env = service_environment(home, {"LEAP_HOME": str(demo.leap.settings.home),
                                     "LEAP_DATABASE_URL": demo.leap.settings.resolved_database_url,
                                     "LEAP_POOL_MEDIA": "1"})
    services = list(start_services(("code-server", "daemon"), env, tmp_path).values())
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            yield instance
    finally:
        for service in services:
            service.stop()


def wait_until_finished(demo: UserAPI, instance: DagsterInstance) -> None:
    """Poll LEAP until every recording rests; fail with the daemon's view if that takes unreasonably long."""
    for _ in range(600):
        statuses = [r["status"] for r in demo.recordings()]
        if len(statuses) == RECORDINGS and set(statuses) <= FINISHED:
            return
        time.sleep(0.5)
    runs = [(r.run_id, r.status.value) for r in instance.get_runs()]
    pytest.fail(f"recordings {statuses} did not finish; runs: {runs}")


def stage_spans(demo: UserAPI, stage: str) -> list[Span]:
    """Each completed `stage` row's start and end, as LEAP's runner recorded them around the stage's work."""
    rows = [s for r in demo.recordings() for s in demo.stages(r["id"]) if s["stage"] == stage]
    return [(s["started_at"].timestamp(), s["completed_at"].timestamp()) for s in rows if s["status"] == "completed"]


def run_spans(instance: DagsterInstance) -> list[Span]:
    records = instance.get_run_records(RunsFilter(job_name="recording_pipeline"))
    return [(r.start_time, r.end_time) for r in records if r.start_time and r.end_time]


def overlapping(intervals: list[Span]) -> list[tuple[Span, Span]]:
    return [(a, b) for a, b in combinations(intervals, 2) if a[0] < b[1] and b[0] < a[1]]


@pytest.mark.slow
def test_runs_overlap_but_no_two_trim_steps_do_when_the_media_pool_allows_one(
    demo: UserAPI, deployed: DagsterInstance
) -> None:
    # A full re-encode of a 20-second 640x480 lecture: ffmpeg work long enough for two runs' trims to meet.
    demo.templates_api.update("inbox", trim={**INBOX_TEMPLATE["trim"], "method": "reencode"})
    lecture = make_lecture(LectureSpec(sentences=DEFAULT_SENTENCES[:2], head_silence=6, tail_silence=6,
                                       size="640x480"))
    inbox = Path(demo.sources()[0]["path"])
    for i in range(RECORDINGS):
        shutil.copy(lecture.path, inbox / f"lecture-{i}.mp4")

    wait_until_finished(demo, deployed)

    assert [r["status"] for r in demo.recordings()] == ["UPLOADED"] * RECORDINGS
    assert deployed.event_log_storage.get_concurrency_info("media").slot_count == 1
    assert overlapping(run_spans(deployed)), "the runs never ran side by side: nothing for the pool to hold back"
    trims = stage_spans(demo, "trim")
    assert len(trims) == RECORDINGS
    assert overlapping(trims) == []
    # The run workers claimed their slots in turn (ADR 0043): SQLite alone let two trims take one slot.
    assert Path(deployed.root_directory, "history", "runs", LOCK_FILE).exists()
