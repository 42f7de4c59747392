"""The reconciler leaves no recording stranded: each is owned by a live run, queued, resting on purpose, or FAILED.

Runs are described the way the Dagster layer answers (`RunState` per run id); the recordings, their
requests and their stage rows are LEAP's real ones on the real database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from leap_core import reconcile
from leap_core.api import UserAPI
from leap_core.db.models import Recording, RunRequest
from leap_core.pipeline.runner import StageRunner
from leap_core.reconcile import RunState
from leap_core.stages import TRANSCRIBE
from leap_core.states import RecordingStatus
from tests.support.builders import add_inbox, force_status, register_many

NOW = timedelta(0)


class Runs:
    """The orchestrator's answer: run id → state; ids it does not list never existed."""

    def __init__(self, states: Mapping[str, RunState]) -> None:
        self.states = dict(states)
        self.asked: list[list[str]] = []

    def __call__(self, run_ids: Sequence[str]) -> Mapping[str, RunState]:
        self.asked.append(list(run_ids))
        return {run_id: self.states[run_id] for run_id in run_ids if run_id in self.states}


@pytest.fixture
def made(alice: UserAPI, tmp_path: Path) -> list[str]:
    add_inbox(alice, tmp_path)
    return register_many(alice, 3)


def finish_requests(api: UserAPI, recording_id: str, run_id: str | None) -> None:
    """The launcher's bookkeeping after the run ended: the request finished, with its run id."""
    with api.leap.db.session() as session:
        session.execute(update(RunRequest).where(RunRequest.recording_id == recording_id)
                        .values(status="finished", run_id=run_id))


def run_reconciler(api: UserAPI, runs: Runs, limit: int = 100) -> list[reconcile.Stranded]:
    with api.leap.db.session() as session:
        stranded, _ = reconcile.reconcile(session, runs, NOW, limit)
    return stranded


def test_a_recording_whose_run_timed_out_while_starting_is_failed_at_download_and_retried(
    alice: UserAPI, made: list[str]
) -> None:
    finish_requests(alice, made[0], "run-start-timeout")
    message = "Run timed out due to taking longer than 180 seconds to start."
    runs = Runs({"run-start-timeout": RunState(False, "FAILURE", message)})

    assert len(run_reconciler(alice, runs)) == 1

    recording = alice.recording(made[0])
    assert (recording["status"], recording["failed_at_stage"]) == ("FAILED", "download")
    assert "taking longer than 180 seconds to start" in recording["error"]
    assert [s["status"] for s in (alice.recording(i) for i in made[1:])] == ["INITIALIZED", "INITIALIZED"]  # queued
    (notice,) = alice.notifications.list()
    assert notice["data"]["stage"] == "download"
    (entry,) = alice.activity(action="recording.fail")
    assert entry["details"]["reconciled"] is True
    alice.retry([made[0]])
    assert alice.recording(made[0])["status"] == "DOWNLOADING"


def test_a_recording_left_between_stages_by_a_dead_run_is_failed_at_the_next_stage(
    alice: UserAPI, made: list[str]
) -> None:
    force_status(alice, [made[0]], RecordingStatus.DOWNLOADED)  # its worker died waiting for the media pool
    finish_requests(alice, made[0], "run-killed")
    runs = Runs({"run-killed": RunState(False, "FAILURE", "run died: its run worker (pid 4242) is gone")})

    run_reconciler(alice, runs)

    recording = alice.recording(made[0])
    assert (recording["status"], recording["failed_at_stage"]) == ("FAILED", "trim")
    assert "pid 4242" in recording["error"]
    alice.retry([made[0]])
    assert alice.recording(made[0])["status"] == "PROCESSING"


def test_an_in_flight_recording_whose_owner_ended_is_failed_at_its_stage_with_the_database_cause(
    alice: UserAPI, made: list[str]
) -> None:
    force_status(alice, [made[0]], RecordingStatus.PROCESSED)
    StageRunner(alice.leap.settings, alice.leap.db)._enter(made[0], TRANSCRIBE, "run-db")
    message = "psycopg.OperationalError: connection failed: Connection refused"
    runs = Runs({"run-db": RunState(False, "FAILURE", message)})  # its request is still pending: no matter

    run_reconciler(alice, runs)

    recording = alice.recording(made[0])
    assert (recording["status"], recording["failed_at_stage"]) == ("FAILED", "transcribe")
    assert "database was unreachable" in recording["error"]
    assert [s["status"] for s in alice.stages(made[0])] == ["failed"]


def test_recordings_that_something_will_still_move_are_left_alone(alice: UserAPI, made: list[str]) -> None:
    live, resting, partial = made
    force_status(alice, [live], RecordingStatus.PROCESSED)
    StageRunner(alice.leap.settings, alice.leap.db)._enter(live, TRANSCRIBE, "run-live")
    force_status(alice, [resting], RecordingStatus.DOWNLOADED)
    finish_requests(alice, resting, "run-partial")  # a UI run that materialised raw_video only, and succeeded
    runs = Runs({"run-live": RunState(True, "STARTED"), "run-partial": RunState(True, "SUCCESS")})
    runs.states["run-partial"] = RunState(False, "SUCCESS")

    assert run_reconciler(alice, runs) == []
    assert [alice.recording(i)["status"] for i in made] == ["TRANSCRIBING", "DOWNLOADED", "INITIALIZED"]
    assert partial  # still waiting in the launcher's queue: its request is pending


def test_a_recording_with_no_request_rests_as_its_template_asks(alice: UserAPI, made: list[str]) -> None:
    with alice.leap.db.session() as session:
        session.execute(update(RunRequest).where(RunRequest.recording_id == made[0]).values(first_stage="delete"))
    assert run_reconciler(alice, Runs({})) == []
    assert alice.recording(made[0])["status"] == "INITIALIZED"


def test_the_grace_period_protects_a_run_that_is_still_starting(alice: UserAPI, made: list[str]) -> None:
    finish_requests(alice, made[0], None)
    with alice.leap.db.session() as session:
        stranded, _ = reconcile.reconcile(session, Runs({}), timedelta(minutes=5), 100)
    assert stranded == []
    (stranded_now,) = run_reconciler(alice, Runs({}))
    assert "no run was started" in stranded_now.reason


def test_a_tick_reads_one_page_and_the_cursor_walks_every_recording(alice: UserAPI, made: list[str]) -> None:
    for recording_id in made:
        finish_requests(alice, recording_id, None)
    seen: list[str] = []
    after = None
    for _ in range(3):
        with alice.leap.db.session() as session:
            stranded, after = reconcile.reconcile(session, Runs({}), NOW, 2, after)
        seen += [s.recording_id for s in stranded]
        if after is None:
            break
    assert sorted(seen) == sorted(made)
    with alice.leap.db.session() as session:
        assert {r.status for r in session.query(Recording)} == {RecordingStatus.FAILED}


@pytest.mark.parametrize(("status", "stage"), [
    (RecordingStatus.DOWNLOADING, "download"), (RecordingStatus.PROCESSING, "trim"),
    (RecordingStatus.TRANSCRIBING, "transcribe"), (RecordingStatus.TRANSCRIBED, "upload:local"),
    (RecordingStatus.UPLOADING, "upload:local"),
])
def test_every_stranded_state_names_a_real_stage_that_retry_accepts(
    alice: UserAPI, made: list[str], status: RecordingStatus, stage: str
) -> None:
    force_status(alice, [made[0]], status)
    finish_requests(alice, made[0], "run-gone")

    run_reconciler(alice, Runs({}))

    assert alice.recording(made[0])["failed_at_stage"] == stage
    alice.retry([made[0]])
    assert alice.recording(made[0])["status"] != "FAILED"
