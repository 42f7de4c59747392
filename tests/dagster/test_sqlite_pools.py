"""Two run workers claiming the last slot of a SQLite instance's pool at the same instant: one gets it.

Each claimer is a real process on one real SQLite event log. SQLAlchemy's cursor hook stretches the two
reads Dagster's claim decides on (the count of assigned steps, the free slot row) to half a second, so the
interleaving CI met once in about 15 runs (tests/dagster/test_pools.py) happens every time.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from filelock import FileLock

from leap_dagster.sqlite_pools import LOCK_FILE

CLAIMER = """
import sys, time
from pathlib import Path
from sqlalchemy import event
from sqlalchemy.engine import Engine

base, with_leap, run_id = sys.argv[1], sys.argv[2] == "leap", sys.argv[3]

@event.listens_for(Engine, "after_cursor_execute")
def stretch_the_reads_a_claim_decides_on(conn, cursor, statement, params, context, executemany):
    sql = " ".join(statement.split())
    if ("FROM concurrency_slots" in sql and "step_key IS NULL" in sql) or (
            "FROM pending_steps" in sql and "assigned_timestamp IS NOT NULL" in sql):
        time.sleep(0.5)

if with_leap:
    import leap_dagster  # noqa: F401  (what every LEAP run worker imports)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

storage = SqliteEventLogStorage(base)
Path(base, f"ready-{run_id}").touch()
while not Path(base, "go").exists():
    time.sleep(0.01)
print(storage.claim_concurrency_slot("media", run_id, "trim").is_claimed)
"""


def start_claimer(base: Path, with_leap: bool, run_id: str) -> subprocess.Popen[str]:
    """One claimer process; it waits for `base/go` before claiming."""
    mode = "leap" if with_leap else "dagster"
    return subprocess.Popen([sys.executable, "-c", CLAIMER, str(base), mode, run_id], stdout=subprocess.PIPE, text=True)


def claim_together(base: Path, with_leap: bool, runs: int = 2) -> list[bool]:
    """Start `runs` claimer processes, let them claim at once, and return whether each got a slot."""
    processes = [start_claimer(base, with_leap, f"run-{i}") for i in range(runs)]
    while len(list(base.glob("ready-*"))) < runs:
        assert all(p.poll() is None for p in processes), "a claimer died before claiming"
        time.sleep(0.05)
    (base / "go").touch()
    return [p.communicate(timeout=60)[0].strip() == "True" for p in processes]


@pytest.fixture
def one_slot(tmp_path: Path) -> Path:
    storage = SqliteEventLogStorage(str(tmp_path))
    storage.set_concurrency_slots("media", 1)
    storage.dispose()
    return tmp_path


def test_dagsters_own_sqlite_claim_gives_one_slot_to_two_steps(one_slot: Path) -> None:
    """The reason for leap_dagster.sqlite_pools: when this fails, Dagster serialises claims and it can go."""
    assert claim_together(one_slot, with_leap=False) == [True, True]


def test_with_leap_installed_only_one_of_three_simultaneous_claims_gets_the_slot(one_slot: Path) -> None:
    assert sorted(claim_together(one_slot, with_leap=True, runs=3)) == [False, False, True]
    info = SqliteEventLogStorage(str(one_slot)).get_concurrency_info("media")
    assert len(info.claimed_slots) == 1 and info.pending_step_count == 2


def test_a_claim_waits_while_another_process_holds_the_pool_lock(one_slot: Path) -> None:
    with FileLock(str(one_slot / LOCK_FILE)):
        claimer = start_claimer(one_slot, with_leap=True, run_id="run-0")
        (one_slot / "go").touch()
        while not (one_slot / "ready-run-0").exists():
            time.sleep(0.05)
        time.sleep(1.0)
        storage = SqliteEventLogStorage(str(one_slot))
        assert claimer.poll() is None and storage.get_concurrency_info("media").claimed_slots == []
    assert claimer.communicate(timeout=60)[0].strip() == "True"
    assert len(storage.get_concurrency_info("media").claimed_slots) == 1


def test_a_process_killed_while_holding_the_pool_lock_does_not_wedge_the_pool(one_slot: Path) -> None:
    """SIGKILL mid-claim: the OS drops the flock with the process, so the next claim goes through."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); lock.acquire(); "
        "print('held', flush=True); time.sleep(600)"), str(one_slot / LOCK_FILE)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)

    claimer = start_claimer(one_slot, with_leap=True, run_id="run-0")
    (one_slot / "go").touch()
    assert claimer.communicate(timeout=60)[0].strip() == "True"
