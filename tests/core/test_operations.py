"""Recording operations: what each one does, what it refuses (and says), and that it stays in its tenant."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from leap_core.api import UserAPI
from leap_core.audit import Actor
from leap_core.db.models import Notification, OutputTarget, Recording, RunRequest
from leap_core.db.types import utcnow
from leap_core.errors import InvalidTransitionError, NotFoundError
from leap_core.operations import request_due_parked
from leap_core.states import RecordingStatus, TargetStatus
from tests.support.builders import add_inbox, force_status, register_many


def requests_for(api: UserAPI, recording_id: str) -> list[RunRequest]:
    with api.leap.db.session() as session:
        return list(session.scalars(select(RunRequest).where(RunRequest.recording_id == recording_id)))


@pytest.fixture
def waiting(alice: UserAPI, tmp_path: Path) -> list[str]:
    """Recordings of a template that waits for its automation job (process_on_arrival false)."""
    add_inbox(alice, tmp_path, process_on_arrival=False)
    return register_many(alice, 3)


def test_a_template_that_waits_leaves_new_recordings_initialized_without_a_run(
    alice: UserAPI, waiting: list[str]
) -> None:
    assert {alice.recording(i)["status"] for i in waiting} == {"INITIALIZED"}
    assert all(requests_for(alice, i) == [] for i in waiting)


def test_process_requests_runs_for_initialized_recordings_and_reports_the_rest(
    alice: UserAPI, waiting: list[str]
) -> None:
    force_status(alice, waiting[2:], RecordingStatus.UPLOADED)
    report = alice.process(waiting)
    assert report["done"] == waiting[:2]
    assert report["refused"] == {waiting[2]: "not eligible: recording is UPLOADED, processing needs INITIALIZED"}
    assert [r.first_stage for r in requests_for(alice, waiting[0])] == ["download"]
    again = alice.process(waiting[:1])
    assert again["refused"] == {waiting[0]: "already requested: a run is queued or in flight"}


def test_dry_run_reports_the_same_and_writes_nothing(alice: UserAPI, waiting: list[str]) -> None:
    before = alice.activity()
    assert alice.process(waiting, dry_run=True)["done"] == waiting
    assert alice.skip(waiting, dry_run=True)["done"] == waiting
    assert all(requests_for(alice, i) == [] for i in waiting)
    assert alice.activity() == before


def test_skip_moves_initialized_or_pending_to_skipped_with_the_reason(alice: UserAPI, waiting: list[str]) -> None:
    force_status(alice, waiting[1:2], RecordingStatus.PENDING_SOURCE)
    force_status(alice, waiting[2:], RecordingStatus.FAILED, stage="trim")
    report = alice.skip(waiting, reason="duplicate lecture")
    assert report["done"] == waiting[:2]
    assert "cannot skip a FAILED recording" in report["refused"][waiting[2]]
    view = alice.recording(waiting[0])
    assert (view["status"], view["skip_reason"]) == ("SKIPPED", "duplicate lecture")


def test_delete_keeps_the_row_with_its_history_removes_files_and_asks_to_drop_the_partition(
    alice: UserAPI, waiting: list[str]
) -> None:
    target = waiting[0]
    folder = alice.leap.settings.resolved_storage_dir / "alice" / target
    folder.mkdir(parents=True)
    (folder / "source.mp4").write_bytes(b"x" * 1000)
    report = alice.delete(target)
    assert report["done"] == [target]
    assert not folder.exists()
    with pytest.raises(NotFoundError):
        alice.recording(target)
    with alice.leap.db.session() as session:
        row = session.get_one(Recording, target)
        assert row.deleted_at is not None
    assert [r.first_stage for r in requests_for(alice, target)] == ["delete"]
    (entry,) = alice.activity(action="recording.delete")
    assert entry["details"]["freed_bytes"] == 1000


def test_delete_is_refused_while_a_run_is_queued_or_in_flight(alice: UserAPI, tmp_path: Path) -> None:
    add_inbox(alice, tmp_path)
    (queued,) = register_many(alice, 1)  # process_on_arrival: its run request is pending
    with pytest.raises(InvalidTransitionError, match="queued or in flight; delete refused"):
        alice.delete(queued)
    assert alice.recording(queued)["status"] == "INITIALIZED"


def test_retry_failed_uploads_touches_only_failed_targets(alice: UserAPI, waiting: list[str]) -> None:
    failed, published = waiting[0], waiting[1]
    force_status(alice, [failed], RecordingStatus.FAILED, stage="upload:local")
    force_status(alice, [published], RecordingStatus.UPLOADED)
    with alice.leap.db.session() as session:
        for target in session.scalars(select(OutputTarget).where(OutputTarget.recording_id.in_(waiting[:2]))):
            target.status = TargetStatus.FAILED if target.recording_id == failed else TargetStatus.UPLOADED
    report = alice.retry_failed_uploads()
    assert report["done"] == [failed]
    assert alice.recording(failed)["status"] == "UPLOADING"
    assert [r.first_stage for r in requests_for(alice, failed)] == ["upload:local"]
    assert requests_for(alice, published) == []


def test_a_parked_target_is_requested_again_when_due_and_given_up_after_the_limit(
    alice: UserAPI, waiting: list[str]
) -> None:
    due, exhausted = waiting[0], waiting[1]
    force_status(alice, [due, exhausted], RecordingStatus.FAILED, stage="upload:local")
    with alice.leap.db.session() as session:
        for target in session.scalars(select(OutputTarget).where(OutputTarget.recording_id.in_([due, exhausted]))):
            target.status = TargetStatus.FAILED
            target.retry_after = utcnow() - timedelta(minutes=1)
            target.parked_attempts = 1 if target.recording_id == due else 3
    with alice.leap.db.session() as session:
        assert request_due_parked(session, Actor("launcher", origin="sensor"), max_attempts=3) == [due]
    assert [r.reason for r in requests_for(alice, due)] == ["parked"]
    assert alice.recording(due)["status"] == "UPLOADING"
    assert requests_for(alice, exhausted) == []
    with alice.leap.db.session() as session:
        (note,) = session.scalars(select(Notification).where(Notification.user_id == alice.user_id))
        assert note.event_type == "upload.failed" and "gave up after 3 automatic attempts" in note.body
    with alice.leap.db.session() as session:
        assert request_due_parked(session, Actor("launcher", origin="sensor"), max_attempts=3) == []


def test_selectors_pick_my_recordings_by_status_source_and_template(alice: UserAPI, waiting: list[str]) -> None:
    force_status(alice, waiting[:1], RecordingStatus.FAILED, stage="trim")
    assert alice.select(status=RecordingStatus.FAILED) == waiting[:1]
    assert alice.select(source="inbox") == waiting
    assert alice.select(template="inbox", status=RecordingStatus.INITIALIZED) == waiting[1:]
    assert alice.select(source="no-such-source") == []


def test_one_users_ids_are_refused_for_another(alice: UserAPI, bob: UserAPI, waiting: list[str]) -> None:
    for operation in (bob.process, bob.skip, lambda ids: bob.delete(ids[0])):
        with pytest.raises(NotFoundError):
            operation(waiting)
    assert bob.select(source="inbox") == []
    assert {alice.recording(i)["status"] for i in waiting} == {"INITIALIZED"}
