"""A user's tasks: status, progress and the step in words from the core's own rows; cancel; confinement."""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leap_core import launcher, tasks
from leap_core.api import UserAPI
from leap_core.audit import Actor
from leap_core.cli import app, context
from leap_core.config import default_quotas
from leap_core.errors import InvalidTransitionError, NotFoundError, StageError
from leap_core.pipeline.runner import StageInput, StageOutput
from leap_core.publishing.targets import Published
from leap_core.stages import DOWNLOAD, PROCESSING_STAGES, TRANSCRIBE, TRIM, Stage
from leap_core.states import RecordingStatus
from tests.support.builders import add_inbox, register_many

SENSOR = Actor("cancel-sensor", origin="sensor")


@pytest.fixture
def recording_id(alice: UserAPI, tmp_path: Path) -> str:
    add_inbox(alice, tmp_path)
    (recording,) = register_many(alice, 1)
    return recording


def only_task(api: UserAPI) -> dict[str, Any]:
    (task,) = api.tasks.list()
    return task


def launch(api: UserAPI, run_id: str) -> int:
    """What the launcher sensor does: hand the pending request to Dagster, then see its run."""
    task_id = int(only_task(api)["id"])
    with api.leap.db.session() as session:
        launcher.claim(session, launcher.next_batch(session, default_quotas(), 10))
        launcher.mark_launched(session, {task_id: run_id})
    return task_id


def run_stage(api: UserAPI, recording_id: str, stage: Stage, run_id: str, fail: bool = False) -> dict[str, Any]:
    """Run a stage through the real runner; returns the task as seen while the stage was working."""
    seen: dict[str, Any] = {}

    def work(_: StageInput) -> StageOutput:
        seen.update(only_task(api))
        if fail:
            raise StageError(stage.name, "the model ran out of memory")
        return StageOutput()

    with suppress(StageError):
        api.leap.pipeline.stages.run(recording_id, stage, work, run_id)
    return seen


def test_a_requested_run_is_a_pending_task_waiting_for_a_worker(alice: UserAPI, recording_id: str) -> None:
    task = only_task(alice)
    assert (task["recording_id"], task["status"], task["progress"]) == (recording_id, "PENDING", 0)
    assert task["step"] == "Waiting for a free worker…"
    assert alice.tasks.show(task["id"]) == task


def test_a_running_task_shows_its_progress_and_the_current_step_in_words(alice: UserAPI, recording_id: str) -> None:
    launch(alice, "run-1")
    during_download = run_stage(alice, recording_id, DOWNLOAD, "run-1")
    during_trim = run_stage(alice, recording_id, TRIM, "run-1")

    assert (during_download["status"], during_download["progress"]) == ("PROCESSING", 0)
    assert during_download["step"] == "Downloading the recording…"
    assert during_trim["step"] == "Trimming silence…"
    assert 0 < during_trim["progress"] < only_task(alice)["progress"] < 100


def test_a_failed_stage_makes_the_task_a_failure_with_the_error(alice: UserAPI, recording_id: str) -> None:
    launch(alice, "run-1")
    for stage in (DOWNLOAD, TRIM):
        run_stage(alice, recording_id, stage, "run-1")
    run_stage(alice, recording_id, TRANSCRIBE, "run-1", fail=True)

    task = only_task(alice)
    assert (task["status"], task["step"]) == ("FAILURE", "Failed at transcribe")
    assert "out of memory" in task["error"]
    assert alice.tasks.list(status=tasks.TaskStatus.FAILURE) == [task]
    assert alice.tasks.list(status=tasks.TaskStatus.SUCCESS) == []


def test_a_finished_run_that_stopped_short_of_its_stages_is_a_failure(alice: UserAPI, recording_id: str) -> None:
    launch(alice, "run-1")
    run_stage(alice, recording_id, DOWNLOAD, "run-1")
    with alice.leap.db.session() as session:
        launcher.mark_finished(session, ["run-1"])

    assert only_task(alice)["status"] == "FAILURE"


def test_a_run_through_every_stage_and_target_is_a_success_at_100(alice: UserAPI, recording_id: str) -> None:
    launch(alice, "run-1")
    for stage in PROCESSING_STAGES:
        run_stage(alice, recording_id, stage, "run-1")
    alice.leap.pipeline.targets.run(recording_id, "local", lambda *_: Published("v1", None, {}), "run-1")

    task = only_task(alice)
    assert (task["status"], task["progress"], task["step"], task["error"]) == ("SUCCESS", 100, "Done", None)


def test_a_successful_task_carries_its_result_the_files_written_and_the_published_urls(
    alice: UserAPI, recording_id: str, tmp_path: Path
) -> None:
    launch(alice, "run-1")
    assert only_task(alice)["result"] is None  # nothing to report while it runs
    for stage in PROCESSING_STAGES:
        written = {"srt": str(tmp_path / "subtitles.srt"), "vtt": str(tmp_path / "subtitles.vtt")} \
            if stage.name == "subtitles" else {"path": str(tmp_path / f"{stage.name}.out")}
        alice.leap.pipeline.stages.run(recording_id, stage, lambda _, w=written: StageOutput(dict(w)), "run-1")
    alice.leap.pipeline.targets.run(recording_id, "local",
                                    lambda *_: Published("alice/r1", "file:///export/alice/r1", {}), "run-1")

    result = only_task(alice)["result"]

    assert result["outputs"] == {
        "download": str(tmp_path / "download.out"), "trim": str(tmp_path / "trim.out"),
        "transcribe": str(tmp_path / "transcribe.out"), "topics": str(tmp_path / "topics.out"),
        "subtitles.srt": str(tmp_path / "subtitles.srt"), "subtitles.vtt": str(tmp_path / "subtitles.vtt"),
    }
    assert result["published"] == [{"platform": "local", "url": "file:///export/alice/r1", "video_id": "alice/r1"}]
    assert result["skip_reason"] is None


def test_canceling_a_pending_task_leaves_the_recording_failed_and_retryable(alice: UserAPI, recording_id: str) -> None:
    task = alice.tasks.cancel(only_task(alice)["id"])

    assert (task["status"], task["step"]) == ("CANCELED", "Canceled")
    recording = alice.recording(recording_id)
    assert (recording["status"], recording["failed_at_stage"]) == ("FAILED", "download")
    assert recording["error"] == "canceled by alice"  # the identity acted as (tester is the operator)
    assert alice.retry([recording_id]) == [{"recording_id": recording_id, "first_stage": "download"}]
    assert [t["status"] for t in alice.tasks.list()] == ["PENDING", "CANCELED"]


def test_canceling_a_running_task_asks_the_orchestrator_which_fails_it_at_its_stage(
    alice: UserAPI, recording_id: str
) -> None:
    task_id = launch(alice, "run-1")
    run_stage(alice, recording_id, DOWNLOAD, "run-1")
    alice.leap.pipeline.stages._enter(recording_id, TRIM, "run-1")  # a stage is working when the cancel arrives

    asked = alice.tasks.cancel(task_id)
    with alice.leap.db.session() as session:
        (item,) = tasks.pending_cancels(session)
    with alice.leap.db.session() as session:
        closed = tasks.close_canceled(session, SENSOR, item)

    assert (asked["status"], asked["step"]) == ("PROCESSING", "Canceling…")
    assert (item.request_id, item.run_id, item.canceled_by) == (task_id, "run-1", "alice")
    assert closed
    assert alice.tasks.show(task_id)["status"] == "CANCELED"
    recording = alice.recording(recording_id)
    assert (recording["status"], recording["failed_at_stage"], recording["error"]) == (
        "FAILED", "trim", "canceled by alice")
    assert [s["status"] for s in alice.stages(recording_id)] == ["completed", "failed"]
    alice.retry([recording_id])
    assert alice.recording(recording_id)["status"] == RecordingStatus.PROCESSING.value


def test_a_finished_or_canceled_task_cannot_be_canceled(alice: UserAPI, recording_id: str) -> None:
    task_id = int(alice.tasks.cancel(only_task(alice)["id"])["id"])

    with pytest.raises(InvalidTransitionError, match="CANCELED"):
        alice.tasks.cancel(task_id)


def test_another_users_tasks_are_invisible_and_cannot_be_canceled(
    alice: UserAPI, bob: UserAPI, recording_id: str
) -> None:
    task_id = only_task(alice)["id"]

    assert bob.tasks.list() == []
    with pytest.raises(NotFoundError, match="task not found"):
        bob.tasks.show(task_id)
    with pytest.raises(NotFoundError, match="task not found"):
        bob.tasks.cancel(task_id)
    assert only_task(alice)["status"] == "PENDING"


def test_a_stage_running_past_the_stale_limit_marks_its_run_as_stalled(alice: UserAPI, recording_id: str) -> None:
    launch(alice, "run-1")
    alice.leap.pipeline.stages._enter(recording_id, DOWNLOAD, "run-1")

    with alice.leap.db.session() as session:
        assert tasks.stalled_runs(session, timedelta(0)) == ["run-1"]
        assert tasks.stalled_runs(session, timedelta(minutes=60)) == []


def test_the_cli_lists_shows_and_cancels_my_tasks_and_refuses_in_one_line(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("LEAP_DATABASE_URL", database_url)
    context.leap.cache_clear()
    runner = CliRunner()
    runner.invoke(app, ["init"])
    register_many(context.me(), 1)

    listed = runner.invoke(app, ["tasks", "list"])
    (task,) = json.loads(runner.invoke(app, ["tasks", "list", "--json"]).stdout)
    shown = json.loads(runner.invoke(app, ["tasks", "show", str(task["id"]), "--json"]).stdout)
    canceled = runner.invoke(app, ["tasks", "cancel", str(task["id"]), "--json"])
    again = runner.invoke(app, ["tasks", "cancel", str(task["id"])])
    context.leap.cache_clear()

    assert "PROGRESS" in listed.stdout and "Waiting for a free worker…" in listed.stdout
    assert shown == task | {"created_at": shown["created_at"]}
    assert json.loads(canceled.stdout)["status"] == "CANCELED"
    assert again.exit_code == 1 and again.stderr.count("\n") == 1 and "only pending or running" in again.stderr


def test_a_skipped_recording_is_a_finished_task_whose_step_says_why(alice: UserAPI, recording_id: str) -> None:
    launch(alice, "run-1")
    run_stage(alice, recording_id, DOWNLOAD, "run-1")
    why = "only 0.0 s of speech (needs 30 s); no audio track carries speech (track 1: 0.0 s, track 2: 0.0 s)"

    def blank(_: StageInput) -> StageOutput:
        return StageOutput({"method_reason": why}, skip_reason="blank", skip_detail=why)

    alice.leap.pipeline.stages.run(recording_id, TRIM, blank, "run-1")
    task = only_task(alice)
    assert (task["status"], task["progress"], task["step"]) == ("SUCCESS", 100, f"Skipped at trim: {why}")
