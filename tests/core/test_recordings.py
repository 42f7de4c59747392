"""Recording operations through the user-scoped API: retry, reset, listing, tenancy, audit, query counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from leap_core.api import UserAPI
from leap_core.db.models import RunRequest
from leap_core.errors import InvalidTransitionError, NotFoundError
from leap_core.states import RecordingStatus
from tests.support.builders import add_inbox, force_status, register_many
from tests.support.queries import counted_queries


@pytest.fixture
def inbox(alice: UserAPI, tmp_path: Path) -> Path:
    return add_inbox(alice, tmp_path)


def test_a_new_complete_recording_is_initialized_and_requested_for_processing(alice: UserAPI, inbox: Path) -> None:
    (recording_id,) = register_many(alice, 1)
    assert alice.recording(recording_id)["status"] == "INITIALIZED"
    with alice.leap.db.session() as session:
        request = session.scalars(select(RunRequest).where(RunRequest.recording_id == recording_id)).one()
    assert (request.first_stage, request.reason, request.status) == ("download", "arrival", "pending")


def test_partition_keys_are_readable_and_unique(alice: UserAPI, inbox: Path) -> None:
    ids = register_many(alice, 3)
    keys = [alice.recording(i)["partition_key"] for i in ids]
    assert len(set(keys)) == 3
    assert all(k.startswith("20260105-alice-lecture-") and len(k) <= 80 for k in keys)


def test_retry_continues_from_the_failed_stage_and_counts_the_attempt(alice: UserAPI, inbox: Path) -> None:
    (recording_id,) = register_many(alice, 1)
    force_status(alice, [recording_id], RecordingStatus.FAILED, stage="transcribe")
    (request,) = alice.retry([recording_id])
    assert request == {"recording_id": recording_id, "first_stage": "transcribe"}
    view = alice.recording(recording_id)
    assert (view["status"], view["retry_count"], view["error"]) == ("TRANSCRIBING", 1, None)
    assert [e["action"] for e in alice.activity(action="recording.retry")] == ["recording.retry"]


def test_retry_refuses_a_recording_that_has_not_failed(alice: UserAPI, inbox: Path) -> None:
    (recording_id,) = register_many(alice, 1)
    with pytest.raises(InvalidTransitionError, match="recording is not failed"):
        alice.retry([recording_id])
    assert alice.recording(recording_id)["retry_count"] == 0


@pytest.mark.parametrize("status", [RecordingStatus.FAILED, RecordingStatus.SKIPPED, RecordingStatus.UPLOADED])
def test_reset_returns_a_finished_recording_to_initialized_and_is_audited(
    alice: UserAPI, inbox: Path, status: RecordingStatus
) -> None:
    (recording_id,) = register_many(alice, 1)
    with alice.leap.db.session() as session:
        for request in session.scalars(select(RunRequest)):
            request.status = "finished"
    force_status(alice, [recording_id], status, stage="trim" if status is RecordingStatus.FAILED else None)
    assert alice.reset(recording_id)["status"] == "INITIALIZED"
    (entry,) = alice.activity(action="recording.reset")
    assert entry["details"] == {"before": status.value, "after": "INITIALIZED"}


def test_reset_is_refused_while_a_run_is_in_flight(alice: UserAPI, inbox: Path) -> None:
    (recording_id,) = register_many(alice, 1)
    force_status(alice, [recording_id], RecordingStatus.TRANSCRIBING)
    with pytest.raises(InvalidTransitionError, match="only FAILED, SKIPPED or UPLOADED"):
        alice.reset(recording_id)
    force_status(alice, [recording_id], RecordingStatus.FAILED, stage="download")
    with pytest.raises(InvalidTransitionError, match="run in flight"):
        alice.reset(recording_id)  # its arrival run request is still pending


def test_another_users_recordings_read_as_not_found(alice: UserAPI, bob: UserAPI, inbox: Path) -> None:
    (recording_id,) = register_many(alice, 1)
    force_status(alice, [recording_id], RecordingStatus.FAILED, stage="trim")
    for attempt in (bob.recording, bob.stages, bob.reset, lambda i: bob.retry([i])):
        with pytest.raises(NotFoundError):
            attempt(recording_id)
    assert bob.recordings() == []
    assert alice.recording(recording_id)["status"] == "FAILED"


def test_listing_and_retrying_a_thousand_recordings_costs_a_constant_number_of_queries(
    alice: UserAPI, inbox: Path
) -> None:
    ids = register_many(alice, 1000)
    force_status(alice, ids, RecordingStatus.FAILED, stage="trim")
    with counted_queries(alice.leap) as listing:
        assert len(alice.recordings(limit=1000)) == 1000
    with counted_queries(alice.leap) as retrying:
        assert len(alice.retry(ids)) == 1000
    assert len(listing) <= 3
    # One load, one UPDATE, and the run requests and audit rows inserted in batches.
    assert len(retrying) <= 8, retrying


def test_audit_queries_filter_by_action_family_and_time(alice: UserAPI, inbox: Path) -> None:
    register_many(alice, 2)
    actions = {e["action"] for e in alice.activity(action="recording.*")}
    assert actions == {"recording.create"}
    assert {e["action"] for e in alice.activity()} >= {"source.create", "template.create", "recording.create"}
    future = alice.activity(since=alice.activity()[0]["ts"].replace(year=2099))
    assert future == []
