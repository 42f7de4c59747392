"""The single launcher on a real Dagster instance: waiting templates, per-user concurrency, no double launch."""

from __future__ import annotations

import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context
from sqlalchemy import select, update

from leap_core.api import UserAPI
from leap_core.db.models import RunRequest
from leap_core.db.types import utcnow
from leap_dagster.definitions import defs
from leap_dagster.sensors import launcher_sensor
from tests.fixtures.media import make_lecture
from tests.support.builders import register_many
from tests.support.dagster import RESOURCES, settle, tick_launcher, tick_sync


def launcher_tick(instance: DagsterInstance) -> SensorResult | None:
    result = launcher_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))
    return result if isinstance(result, SensorResult) else None


def request_statuses(api: UserAPI) -> list[str]:
    with api.leap.db.session() as session:
        return list(session.scalars(select(RunRequest.status).where(RunRequest.user_id == api.user_id)))


def test_a_waiting_template_keeps_a_dropped_file_initialized_until_process(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    with demo.leap.db.session() as session:
        from leap_core.db.models import Template

        session.execute(update(Template).values(process_on_arrival=False))
    shutil.copy(make_lecture().path, Path(demo.sources()[0]["path"]) / "lecture.mp4")
    assert settle(instance) == []
    (recording,) = demo.recordings()
    assert recording["status"] == "INITIALIZED"

    assert demo.process([recording["id"]])["done"] == [recording["id"]]
    runs = settle(instance)
    assert [r.success for r in runs] == [True]
    assert demo.recording(recording["id"])["status"] == "UPLOADED"


def test_thirty_requests_never_run_more_than_two_at_once_and_all_finish(
    demo: UserAPI, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MAX_CONCURRENT_TASKS", "2")
    register_many(demo, 30)  # files that do not exist: each run fails fast at download, which is fine here
    launched_per_tick = []
    for _ in range(20):
        runs = tick_launcher(instance)
        launched_per_tick.append(len(runs))
        statuses = request_statuses(demo)
        assert statuses.count("submitted") + statuses.count("launched") <= 2
        if statuses.count("finished") == 30:
            break
    assert max(launched_per_tick) == 2
    assert request_statuses(demo).count("finished") == 30


def test_concurrent_ticks_never_take_the_same_request(demo: UserAPI, instance: DagsterInstance) -> None:
    register_many(demo, 12)
    results: list[SensorResult | None] = []
    start = threading.Barrier(2)

    def tick() -> None:
        start.wait(timeout=10)
        results.append(launcher_tick(instance))

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    keys = [r.run_key for result in results if result for r in result.run_requests or []]
    assert len(keys) == len(set(keys)) == 12


def test_a_tick_that_dies_after_claiming_is_resent_with_the_same_run_key(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    (recording_id,) = register_many(demo, 1)
    lost = launcher_tick(instance)  # claimed, but its run requests never reach the daemon
    assert lost is not None
    (first,) = lost.run_requests or []
    assert launcher_tick(instance) is None  # too early to call it lost
    with demo.leap.db.session() as session:
        session.execute(update(RunRequest).values(launched_at=utcnow() - timedelta(hours=1)))
    again = launcher_tick(instance)
    assert again is not None
    (resent,) = again.run_requests or []
    assert (resent.run_key, resent.partition_key) == (first.run_key, first.partition_key)
    assert demo.recording(recording_id)["status"] == "INITIALIZED"


def test_delete_drops_the_partition_and_reset_then_reprocess_refreshes_the_export_without_a_second_upload(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    inbox = Path(demo.sources()[0]["path"])
    shutil.copy(make_lecture().path, inbox / "one.mp4")
    shutil.copy(make_lecture().path, inbox / "two.mp4")
    settle(instance)
    one, two = sorted(demo.recordings(), key=lambda r: r["title"])
    assert {one["status"], two["status"]} == {"UPLOADED"}

    demo.delete(one["id"])
    tick_launcher(instance)
    assert one["partition_key"] not in instance.get_dynamic_partitions("recordings")
    assert not (demo.leap.settings.resolved_storage_dir / "demo" / one["id"]).exists()

    demo.reset(two["id"])
    demo.process([two["id"]])
    settle(instance)
    assert demo.recording(two["id"])["status"] == "UPLOADED"
    uploads = [s for s in demo.stages(two["id"]) if s["stage"] == "upload:local"]
    assert len(uploads) == 2  # exported once, then refreshed from the reprocessed files (ADR 0027)
    assert len(demo.activity(action="target.upload")) == 2  # one export per recording: `two` never twice
    assert len(demo.activity(action="target.refresh")) == 1
    assert tick_sync(instance) == []
