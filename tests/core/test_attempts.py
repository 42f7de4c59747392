"""One owner per attempt: a retried recording is moved only by the run of the new attempt."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from leap_core.api import UserAPI
from leap_core.audit import Actor
from leap_core.db.models import ProcessingStage, Recording
from leap_core.errors import ConcurrentModificationError
from leap_core.pipeline.runner import StageInput, StageOutput, StageRunner
from leap_core.stages import DOWNLOAD, TOPICS, TRANSCRIBE, TRIM
from leap_core.states import RecordingStatus
from tests.support.builders import add_inbox, force_status, register_many


@pytest.fixture
def recording_id(alice: UserAPI, tmp_path: Path) -> str:
    add_inbox(alice, tmp_path)
    [made] = register_many(alice, 1)
    force_status(alice, [made], RecordingStatus.PROCESSED)
    return made


def done(_: StageInput) -> StageOutput:
    return StageOutput(metadata={"words": 3})


def owner(api: UserAPI, recording_id: str) -> str | None:
    with api.leap.db.session() as session:
        return session.get_one(Recording, recording_id).attempt_owner


def test_a_retry_is_not_undone_by_the_late_failure_of_the_run_it_replaced(alice: UserAPI, recording_id: str) -> None:
    runner = StageRunner(alice.leap.settings, alice.leap.db)
    runner._enter(recording_id, TRANSCRIBE, "run-old")  # the old run is transcribing when it is killed
    assert alice.leap.pipeline.mark_run_died(recording_id, "run-old", "run run-old died: its worker is gone")
    alice.retry([recording_id])
    assert (alice.recording(recording_id)["status"], owner(alice, recording_id)) == ("TRANSCRIBING", "queued")

    # the failure sensor of the old run fires again while the retry waits for its run
    assert not alice.leap.pipeline.mark_run_died(recording_id, "run-old", "run run-old died: signal 9")

    assert alice.recording(recording_id)["status"] == "TRANSCRIBING"
    (late,) = alice.activity(action="recording.late_event")
    assert late["result"] == "ignored" and late["details"]["event"] == "run died"
    runner.run(recording_id, TRANSCRIBE, done, run_id="run-new")
    assert owner(alice, recording_id) == "run-new"
    assert alice.recording(recording_id)["status"] == "TRANSCRIBING"  # topics and subtitles follow


def test_a_late_stage_exit_of_a_replaced_run_is_recorded_not_applied(alice: UserAPI, recording_id: str) -> None:
    runner = StageRunner(alice.leap.settings, alice.leap.db)
    row_id, _, _ = runner._enter(recording_id, TRANSCRIBE, "run-old") or (0, None, False)
    alice.leap.pipeline.mark_run_died(recording_id, "run-old", "presumed dead: no progress for 60 minutes")
    alice.retry([recording_id])
    # the presumed-dead worker was alive after all: its stage fails late, then it moves on to the next asset
    runner._fail(recording_id, TRANSCRIBE, row_id, "decoder crashed", Actor("pipeline", origin="run", run_id="run-old"))
    with pytest.raises(ConcurrentModificationError, match="the attempt the retry replaced"):
        runner._enter(recording_id, TOPICS, "run-old")

    assert alice.recording(recording_id)["status"] == "TRANSCRIBING"  # the retry's attempt is untouched
    assert [e["details"]["event"] for e in alice.activity(action="recording.late_event")] == ["stage failed"]
    runner.run(recording_id, TRANSCRIBE, done, run_id="run-new")  # the retry's own run takes it
    assert owner(alice, recording_id) == "run-new"


def test_a_superseded_run_finishing_its_stage_does_not_move_the_recording(alice: UserAPI, recording_id: str) -> None:
    force_status(alice, [recording_id], RecordingStatus.DOWNLOADED)
    runner = StageRunner(alice.leap.settings, alice.leap.db)
    row_id, _, _ = runner._enter(recording_id, TRIM, "run-old") or (0, None, False)
    alice.leap.pipeline.mark_run_died(recording_id, "run-old", "presumed dead")
    alice.retry([recording_id])
    runner._enter(recording_id, TRIM, "run-new")

    runner._exit(recording_id, TRIM, row_id, StageOutput(), Actor("pipeline", origin="run", run_id="run-old"), 1.0)

    assert alice.recording(recording_id)["status"] == "PROCESSING"  # still the new run's
    with alice.leap.db.session() as session:
        assert session.get_one(ProcessingStage, row_id).status == "superseded"


def test_a_run_may_not_enter_a_recording_another_run_is_working_on(alice: UserAPI, recording_id: str) -> None:
    runner = StageRunner(alice.leap.settings, alice.leap.db)
    runner._enter(recording_id, TRANSCRIBE, "run-a")
    with pytest.raises(ConcurrentModificationError, match="being worked on by run run-a"):
        runner._enter(recording_id, TRANSCRIBE, "run-b")
    with alice.leap.db.session() as session:
        rows = session.scalars(select(ProcessingStage.run_id).where(ProcessingStage.recording_id == recording_id))
        assert list(rows) == ["run-a"]


def test_retry_continues_a_recording_failed_at_a_stage_leap_no_longer_names(alice: UserAPI, recording_id: str) -> None:
    runner = StageRunner(alice.leap.settings, alice.leap.db)
    force_status(alice, [recording_id], RecordingStatus.INITIALIZED)
    runner.run(recording_id, DOWNLOAD, done, run_id="run-1")
    runner.run(recording_id, TRIM, done, run_id="run-1")
    force_status(alice, [recording_id], RecordingStatus.FAILED, stage="unknown")  # written by an older LEAP

    alice.retry([recording_id])

    assert alice.recording(recording_id)["status"] == "TRANSCRIBING"  # the stage after the last completed
