"""Recording operations through the user-scoped API: retry, reset, listing, tenancy, audit, query counts;
registration of one file by two registrants at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from leap_core import recordings
from leap_core.api import UserAPI
from leap_core.db.models import AuditLog, OutputTarget, Recording, RunRequest, Source, Template, User
from leap_core.errors import InvalidTransitionError, NotFoundError
from leap_core.sources.base import SourceFile
from leap_core.states import RecordingStatus
from tests.conftest import TEST_ACTOR
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


def register_file(session: Session, user_id: str, file_id: str, revision: int = 1) -> Recording | None:
    """`recordings.register` as the sync and the webhook call it, for a file of the user's inbox source."""
    user = session.get_one(User, user_id)
    source = session.scalars(select(Source).where(Source.user_id == user_id)).one()
    template = session.scalars(select(Template).where(Template.user_id == user_id)).one()
    file = SourceFile(file_id=file_id, name=f"{file_id}.mp4", size=1000, recorded_at=datetime(2026, 1, 5, tzinfo=UTC))
    return recordings.register(session, TEST_ACTOR, user, source, template, file, revision=revision)


def written_for(api: UserAPI) -> tuple[int, int, int, int, int, int]:
    """Recordings, targets, run requests, `recording.create` audits, and the month's count and bytes."""
    with api.leap.db.session() as session:
        def count(model: type, *where: object) -> int:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        mine = select(Recording.id).where(Recording.user_id == api.user_id)
        counts = (count(Recording, Recording.user_id == api.user_id),
                  count(OutputTarget, OutputTarget.recording_id.in_(mine)),
                  count(RunRequest, RunRequest.user_id == api.user_id),
                  count(AuditLog, AuditLog.user_id == api.user_id, AuditLog.action == "recording.create"))
    month = api.usage()
    return (*counts, month["recordings_count"], month["storage_bytes"])


def test_registering_a_file_already_registered_returns_none_and_writes_nothing(alice: UserAPI, inbox: Path) -> None:
    with alice.leap.db.session() as session:
        first = register_file(session, alice.user_id, "same")
    with alice.leap.db.session() as session:  # the loser of the race: it checked before the winner committed
        again = register_file(session, alice.user_id, "same")
        replaced = register_file(session, alice.user_id, "same", revision=2)

    assert first is not None and again is None
    assert replaced is not None and replaced.source_revision == 2  # the key is file id and revision
    assert written_for(alice) == (2, 2, 2, 2, 2, 2000)  # one recording, target, request and audit per revision


def test_a_registration_waiting_on_another_of_the_same_user_returns_none_once_that_one_commits(
    alice: UserAPI, inbox: Path
) -> None:
    """The sync holds the user's usage lock (it registered one file) and is about to register a file the
    webhook is registering too: the webhook waits at its reservation, not at its insert, so neither holds
    what the other wants (no deadlock); after the sync commits, the webhook's insert does nothing."""
    db = alice.leap.db
    postgres = db.engine.dialect.name == "postgresql"
    outcome: list[Recording | BaseException | None] = []

    def webhook() -> None:
        try:
            with db.session() as session:
                outcome.append(register_file(session, alice.user_id, "pushed"))
        except BaseException as exc:  # asserted below
            outcome.append(exc)

    with db.session() as sync:
        assert register_file(sync, alice.user_id, "listed") is not None
        pusher = threading.Thread(target=webhook)
        pusher.start()
        if postgres:  # see it queued behind this transaction's lock before going on (a bounded poll)
            with db.engine.connect() as probe:
                for _ in range(600):
                    waiting = probe.execute(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()")).scalar()
                    probe.rollback()  # pg_stat_activity is one snapshot per transaction: end it to look again
                    if not pusher.is_alive() or waiting:
                        break
                    pusher.join(timeout=0.05)
                else:
                    pytest.fail("the second registration never queued behind the first")
        assert register_file(sync, alice.user_id, "pushed") is not None
    pusher.join(timeout=120)

    assert outcome == [None]
    assert written_for(alice) == (2, 2, 2, 2, 2, 2000)
