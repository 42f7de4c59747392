"""A run killed while it holds the single `transcription` slot does not stop transcription for everyone.

Real run workers (`dagster api execute_run` in child processes, as the default run launcher starts
them) on a real instance whose `transcription` pool has one slot. Both runs start together; whichever
claims the slot first is frozen (SIGSTOP) inside its transcription, so it provably still holds the slot
while the instance shows the other run's step waiting for it — then SIGKILLed. One recovery tick fails
the dead run and frees its slot, and the other recording transcribes and publishes.

Why freeze instead of a long lecture: a short transcription could end before the other run queued
(the test was racy under CI load), and a long one costs minutes of Whisper. Frozen, the holder cannot
finish, and it uses no CPU while the other run downloads and trims.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunRequest, SensorResult, build_sensor_context
from dagster._utils.concurrency import ConcurrencyKeyInfo
from sqlalchemy import select

from leap_core import pools
from leap_core.api import UserAPI
from leap_core.db.models import ProcessingStage
from leap_dagster.definitions import defs
from leap_dagster.sensors import launcher_sensor
from tests.dagster.test_recovery import launch_in_child, tick_recovery
from tests.fixtures.media import make_lecture
from tests.support.dagster import RESOURCES, apply_partition_requests, tick_sync

DEADLINE_S = 600.0
"""Only a bound on a broken run, never a measurement: each wait below ends on a state change."""


def launch_requests(instance: DagsterInstance) -> list[RunRequest]:
    result = launcher_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))
    assert isinstance(result, SensorResult)
    apply_partition_requests(instance, result)
    return list(result.run_requests or [])


def slot_info(instance: DagsterInstance) -> ConcurrencyKeyInfo:
    return instance.event_log_storage.get_concurrency_info(pools.TRANSCRIPTION)


def wait_until(what: str, done: object, children: list[subprocess.Popen[bytes]]) -> None:
    """Poll `done()` until true; a child that exits first, or the deadline, fails the test with `what`."""
    deadline = time.monotonic() + DEADLINE_S
    while not done():  # type: ignore[operator]
        ended = [c.returncode for c in children if c.poll() is not None]
        assert not ended and time.monotonic() < deadline, f"{what} (children exited: {ended})"
        time.sleep(0.1)


def transcribing(demo: UserAPI, run_id: str) -> bool:
    """The run's transcribe stage is entered and committed: its work (Whisper) runs outside any transaction."""
    with demo.leap.db.session() as session:
        return session.scalar(select(ProcessingStage.id).where(
            ProcessingStage.run_id == run_id, ProcessingStage.stage == "transcribe",
            ProcessingStage.status == "running")) is not None


def holds_write_lock(pid: int) -> bool:
    """Whether `pid` holds a POSIX write lock (an SQLite writer of the instance's storage), from /proc/locks."""
    for line in Path("/proc/locks").read_text().splitlines():
        fields = [f for f in line.split() if f != "->"]
        if len(fields) > 4 and fields[3] == "WRITE" and fields[4] == str(pid):
            return True
    return False


def stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] in ("T", "t")


def freeze(child: subprocess.Popen[bytes]) -> None:
    """SIGSTOP the worker at a moment it holds no SQLite write lock, so the other run's writes never wait on it."""
    for _ in range(200):
        os.kill(child.pid, signal.SIGSTOP)
        while not stopped(child.pid):
            time.sleep(0.005)
        if not holds_write_lock(child.pid):
            return
        os.kill(child.pid, signal.SIGCONT)
        time.sleep(0.02)
    pytest.fail("the worker held an SQLite write lock every time it was stopped")


@pytest.mark.slow
def test_killing_the_run_that_holds_the_transcription_slot_lets_the_next_recording_transcribe(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    instance.event_log_storage.set_concurrency_slots(pools.TRANSCRIPTION, 1)
    inbox = Path(demo.sources()[0]["path"])
    for name in ("first.mp4", "second.mp4"):
        shutil.copy(make_lecture().path, inbox / name)
    tick_sync(instance)
    tick_sync(instance)
    requests = launch_requests(instance)[:2]
    launched = [launch_in_child(instance, request) for request in requests]
    children = [child for _, child in launched]
    try:
        wait_until("no run claimed the transcription slot", lambda: slot_info(instance).active_run_ids, children)
        (holder_id,) = slot_info(instance).active_run_ids
        holder = next(i for i, (run, _) in enumerate(launched) if run.run_id == holder_id)
        waiter_id, waiter_child = launched[1 - holder][0].run_id, children[1 - holder]
        wait_until("the slot holder never started transcribing", lambda: transcribing(demo, holder_id), children)
        freeze(children[holder])
        wait_until("the other run never queued for the slot",
                   lambda: slot_info(instance).pending_run_ids == {waiter_id}, [waiter_child])
        assert slot_info(instance).active_run_ids == {holder_id}, "the frozen run must still hold the one slot"

        children[holder].send_signal(signal.SIGKILL)
        children[holder].wait()
        tick_recovery(instance)

        waiter_child.wait(timeout=DEADLINE_S)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()

    assert instance.get_run_by_id(holder_id).status is DagsterRunStatus.FAILURE  # type: ignore[union-attr]
    assert instance.get_run_by_id(waiter_id).status is DagsterRunStatus.SUCCESS  # type: ignore[union-attr]
    by_key = {r["partition_key"]: r for r in demo.recordings()}
    dead = by_key[str(requests[holder].partition_key)]
    assert (dead["status"], dead["failed_at_stage"]) == ("FAILED", "transcribe")
    assert by_key[str(requests[1 - holder].partition_key)]["status"] == "UPLOADED"
    info = slot_info(instance)
    assert (info.claimed_slots, info.pending_steps) == ([], []), "no slot may stay held by an ended run"
