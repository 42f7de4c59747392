"""Partition removals and re-additions on a real Dagster instance: applied by the launcher tick itself, marked
done only after Dagster applied them (a SIGKILL in between loses nothing), and bounded by the tick's budget."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from dagster import DagsterInstance, SkipReason, build_sensor_context
from sqlalchemy import select, text, update

from leap_core.api import UserAPI
from leap_core.db.models import RunRequest, Template
from leap_core.states import RecordingStatus
from leap_dagster.definitions import defs
from leap_dagster.sensors import launcher_sensor
from tests.support.builders import force_status, register_many
from tests.support.dagster import RESOURCES

TICK = """
from dagster import DagsterInstance, build_sensor_context
from leap_dagster.definitions import defs
from leap_dagster.sensors import launcher_sensor

with DagsterInstance.get() as instance:  # the test's instance: DAGSTER_HOME is inherited
    launcher_sensor(build_sensor_context(instance=instance, definitions=defs, resources=dict(defs.resources or {})))
"""


def tick(instance: DagsterInstance) -> str:
    """One launcher tick, nothing applied after it: partition changes must be done by the tick itself."""
    result = launcher_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))
    assert isinstance(result, SkipReason)  # partition changes start no run
    return str(result.skip_message)


def archived(api: UserAPI, instance: DagsterInstance, count: int) -> list[str]:
    """`count` published recordings with live partitions, archived: their removals pending. Returns the keys."""
    with api.leap.db.session() as session:
        session.execute(update(Template).values(process_on_arrival=False))  # no runs to launch meanwhile
    ids = register_many(api, count)
    keys = [api.recording(rid)["partition_key"] for rid in ids]
    instance.add_dynamic_partitions("recordings", keys)  # as the sync does on registration
    force_status(api, ids, RecordingStatus.UPLOADED)
    assert api.archive(ids)["archived"] == ids
    return keys


def partition_requests(api: UserAPI) -> list[tuple[str, str]]:
    with api.leap.db.session() as session:
        rows = session.execute(select(RunRequest.first_stage, RunRequest.status)
                               .where(RunRequest.first_stage.in_(["archive", "restore"])).order_by(RunRequest.id))
        return [(kind, status) for kind, status in rows]


def test_the_tick_removes_an_archived_recordings_partition_itself_then_finishes_the_request(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    (key,) = archived(demo, instance, 1)
    assert tick(instance).endswith("1 partition change(s) applied")
    assert not instance.has_dynamic_partition("recordings", key)
    assert partition_requests(demo) == [("archive", "finished")]


def test_archived_then_restored_before_a_tick_keeps_its_partition(demo: UserAPI, instance: DagsterInstance) -> None:
    """Both requests in one tick are applied in the order asked: removed, then added back."""
    (key,) = archived(demo, instance, 1)
    demo.restore([demo.recordings()[0]["id"]])
    tick(instance)
    assert instance.get_dynamic_partitions("recordings") == [key]
    assert partition_requests(demo) == [("archive", "finished"), ("restore", "finished")]


def blocked_in_the_mark(api: UserAPI) -> bool:
    with api.leap.db.engine.connect() as conn:
        return bool(conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE run_requests%'")))


@pytest.mark.parametrize("kind", ["archive", "restore"])
def test_a_tick_killed_after_dagster_applied_the_change_but_before_the_mark_is_repeated_harmlessly(
    demo: UserAPI, instance: DagsterInstance, kind: str
) -> None:
    (key,) = archived(demo, instance, 1)
    if kind == "restore":
        tick(instance)
        demo.restore([demo.recordings()[0]["id"]])
    with demo.leap.db.session() as session:
        request_id = session.scalar(select(RunRequest.id).where(RunRequest.status == "pending",
                                                                RunRequest.first_stage == kind))
    live_after = kind == "restore"
    with demo.leap.db.engine.connect() as holder:
        holder.execute(text("SELECT id FROM run_requests WHERE id = :id FOR UPDATE"), {"id": request_id})
        daemon = subprocess.Popen([sys.executable, "-c", TICK], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
        try:
            deadline = time.monotonic() + 300  # imports on a loaded machine; a bound on waiting, not a measure
            while not blocked_in_the_mark(demo):
                assert daemon.poll() is None, f"the tick ended before its mark: {daemon.communicate()[0][-2000:]}"
                assert time.monotonic() < deadline, "the tick never reached its mark"
                time.sleep(0.2)
            assert instance.has_dynamic_partition("recordings", key) == live_after, "marked before Dagster applied it"
            daemon.send_signal(signal.SIGKILL)  # Dagster has the change, LEAP has not marked it: the crash window
            daemon.wait(timeout=60)
        finally:
            if daemon.poll() is None:
                daemon.kill()
        holder.rollback()

    assert partition_requests(demo)[-1] == (kind, "pending")  # marked only after the change, so still to do
    assert instance.has_dynamic_partition("recordings", key) == live_after
    tick(instance)  # the next tick repeats the change: idempotent in Dagster
    assert instance.get_dynamic_partitions("recordings") == ([key] if live_after else [])
    assert partition_requests(demo) == [("archive", "finished")] + ([("restore", "finished")] if live_after else [])


def test_a_tick_applies_only_what_its_budget_allows_and_later_ticks_the_rest_oldest_first(
    demo: UserAPI, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zero budget: each tick applies its first change only (a removal, or one bulk re-addition)."""
    monkeypatch.setenv("LEAP_LAUNCHER_PARTITION_BUDGET_S", "0")
    keys = archived(demo, instance, 4)
    live, reports = [], []
    for _ in range(4):
        reports.append(tick(instance).split("; ", 1)[1])
        live.append(sorted(instance.get_dynamic_partitions("recordings")))
    assert reports == ["1 partition change(s) applied; more left for the next tick"] * 3 + [
        "1 partition change(s) applied"]
    assert live == [sorted(keys[1:]), sorted(keys[2:]), sorted(keys[3:]), []]
    assert [status for _, status in partition_requests(demo)] == ["finished"] * 4

    demo.restore([r["id"] for r in demo.recordings()])
    assert tick(instance).endswith("4 partition change(s) applied")  # consecutive restores: one bulk add
    assert sorted(instance.get_dynamic_partitions("recordings")) == sorted(keys)
