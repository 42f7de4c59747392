"""The pipeline's failure and publish paths tell the owner, once, in the transaction that changed the state."""

from __future__ import annotations

from pathlib import Path

import pytest

from leap_core.api import UserAPI
from leap_core.db.models import OutputTarget, Recording
from leap_core.errors import StageError
from leap_core.notifications import notify_recording_failed
from leap_core.pipeline.runner import StageInput, StageOutput, StageRunner
from leap_core.publishing.base import ReconnectRequired
from leap_core.publishing.targets import Published, TargetRunner
from leap_core.stages import DOWNLOAD, TRANSCRIBE
from leap_core.states import RecordingStatus
from tests.core.notifications.conftest import SMTPServer
from tests.support.builders import add_inbox, force_status, register_many


def broken(stage: str) -> object:
    def work(_: StageInput) -> StageOutput:
        raise StageError(stage, "the source file is gone")
    return work


@pytest.fixture
def recording_id(alice: UserAPI, tmp_path: Path) -> str:
    add_inbox(alice, tmp_path)
    [made] = register_many(alice, 1)
    return made


def test_a_stage_failure_produces_exactly_one_in_app_notification(
    alice: UserAPI, recording_id: str, smtp: SMTPServer
) -> None:
    runner = StageRunner(alice.leap.settings, alice.leap.db)
    with pytest.raises(StageError):
        runner.run(recording_id, DOWNLOAD, broken("download"), run_id="run-1")  # type: ignore[arg-type]

    [notice] = alice.notifications.list()
    assert notice["type"] == "processing.failed" and notice["unread"]
    assert notice["data"] == {"recording_id": recording_id, "stage": "download", "reason": "the source file is gone"}
    [delivery] = alice.notifications.deliveries()
    assert delivery["channel"] == "email" and delivery["status"] == "pending"
    assert smtp.mailbox.received == [], "the stage only queues the email: the outbox sends it later"


def test_a_run_that_died_after_its_stage_reported_is_not_reported_again(alice: UserAPI, recording_id: str) -> None:
    runner = StageRunner(alice.leap.settings, alice.leap.db)
    with pytest.raises(StageError):
        runner.run(recording_id, DOWNLOAD, broken("download"), run_id="run-1")  # type: ignore[arg-type]
    assert not alice.leap.pipeline.mark_run_died(recording_id, "run-1", "run died")
    assert len(alice.notifications.list()) == 1


def test_a_run_that_died_silently_is_reported_from_the_failed_recording(alice: UserAPI, recording_id: str) -> None:
    force_status(alice, [recording_id], RecordingStatus.TRANSCRIBING)
    assert alice.leap.pipeline.mark_run_died(recording_id, "run-7", "run run-7 died: killed")
    for _ in range(2):  # the failure sensor may see the same run twice
        with alice.leap.db.session() as session:
            notify_recording_failed(session, recording_id, "run-7")
    [notice] = alice.notifications.list()
    assert notice["type"] == "transcription.failed" and notice["body"] == "run run-7 died: killed"


def test_a_transcription_failure_is_its_own_event(alice: UserAPI, recording_id: str) -> None:
    force_status(alice, [recording_id], RecordingStatus.PROCESSED)
    with pytest.raises(StageError):
        StageRunner(alice.leap.settings, alice.leap.db).run(
            recording_id, TRANSCRIBE, broken("transcribe"))  # type: ignore[arg-type]
    assert [n["type"] for n in alice.notifications.list()] == ["transcription.failed"]


def test_publishing_reports_the_url_and_a_revoked_account_asks_to_reconnect(
    alice: UserAPI, recording_id: str
) -> None:
    force_status(alice, [recording_id], RecordingStatus.TRANSCRIBED)
    with alice.leap.db.session() as session:
        session.add(OutputTarget(recording_id=recording_id, platform="youtube"))
    targets = TargetRunner(alice.leap.settings, alice.leap.db)

    def revoked(_: StageInput, __: OutputTarget) -> Published:
        raise ReconnectRequired("YouTube")

    targets.run(recording_id, "local", lambda _, __: Published("v1", "https://videos.example/v1", {}))
    with pytest.raises(ReconnectRequired):
        targets.run(recording_id, "youtube", revoked)

    by_type = {n["type"]: n for n in alice.notifications.list()}
    assert sorted(by_type) == ["recording.published", "upload.failed"]
    assert by_type["recording.published"]["data"]["url"] == "https://videos.example/v1"
    failed = by_type["upload.failed"]["data"]
    assert (failed["platform"], failed["reason"], failed["action"]) == ("youtube", "auth", "reconnect")


def test_a_skip_tells_the_owner_why(alice: UserAPI, recording_id: str) -> None:
    from leap_core.stages import TRIM

    force_status(alice, [recording_id], TRIM.ready)
    why = "no speech in 1080 samples spread over the recording (2160 s heard)"

    def blank(_: StageInput) -> StageOutput:
        return StageOutput({"status": "blank", "method_reason": why}, skip_reason="blank", skip_detail=why)

    outcome = StageRunner(alice.leap.settings, alice.leap.db).run(recording_id, TRIM, blank, run_id="run-1")

    assert outcome.status == "skipped" and outcome.metadata["method_reason"] == why
    [notice] = alice.notifications.list()
    assert notice["type"] == "recording.skipped" and notice["unread"]
    assert notice["data"] == {"recording_id": recording_id, "stage": "trim", "reason": "blank", "detail": why}
    assert why in notice["body"]
    [delivery] = alice.notifications.deliveries()
    assert delivery["channel"] == "email"
    with alice.leap.db.session() as session:
        recording = session.get(Recording, recording_id)
        assert recording is not None and recording.skip_reason == "blank"
