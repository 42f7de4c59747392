"""PENDING_SOURCE: re-checked on every sync, promoted when complete, skipped when gone or too late."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from leap_core.api import UserAPI
from leap_core.db.models import Recording, RunRequest, Source
from leap_core.db.types import utcnow
from leap_core.sources.sync import sync_source
from tests.conftest import TEST_ACTOR
from tests.support.builders import add_inbox


def sync(api: UserAPI) -> None:
    with api.leap.db.session() as session:
        source = session.scalars(select(Source).where(Source.user_id == api.user_id)).one()
        sync_source(session, TEST_ACTOR, source, api.leap.settings)


def state(api: UserAPI) -> tuple[str, str | None]:
    (recording,) = api.recordings()
    return recording["status"], recording["skip_reason"]


def test_a_file_whose_size_holds_over_two_scans_is_promoted_and_requested(alice: UserAPI, tmp_path: Path) -> None:
    inbox = add_inbox(alice, tmp_path)
    (inbox / "lecture.mp4").write_bytes(b"x" * 100)
    sync(alice)
    assert state(alice) == ("PENDING_SOURCE", None)
    (inbox / "lecture.mp4").write_bytes(b"x" * 200)  # still being copied in
    sync(alice)
    assert state(alice) == ("PENDING_SOURCE", None)
    sync(alice)
    assert state(alice) == ("INITIALIZED", None)
    with alice.leap.db.session() as session:
        assert session.scalars(select(RunRequest.reason)).all() == ["arrival"]


def test_a_pending_file_that_disappears_is_skipped_as_source_deleted(alice: UserAPI, tmp_path: Path) -> None:
    inbox = add_inbox(alice, tmp_path)
    (inbox / "lecture.mp4").write_bytes(b"x" * 100)
    sync(alice)
    (inbox / "lecture.mp4").unlink()
    sync(alice)
    assert state(alice) == ("SKIPPED", "source_deleted")


def test_a_file_pending_for_longer_than_the_timeout_is_skipped_as_source_timeout(
    alice: UserAPI, tmp_path: Path
) -> None:
    inbox = add_inbox(alice, tmp_path)
    (inbox / "lecture.mp4").write_bytes(b"x" * 100)
    sync(alice)
    with alice.leap.db.session() as session:
        session.execute(update(Recording).values(created_at=utcnow() - timedelta(hours=25)))
    sync(alice)
    assert state(alice) == ("SKIPPED", "source_timeout")
    assert [e["details"]["reason"] for e in alice.activity(action="recording.skip")] == ["source_timeout"]
