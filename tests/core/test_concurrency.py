"""Two workers moving the same recording at once: exactly one wins, the other gets a clear conflict."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from leap_core import recordings
from leap_core.api import UserAPI
from leap_core.db.models import Recording
from leap_core.errors import ConcurrentModificationError, InvalidTransitionError
from leap_core.states import RecordingStatus
from tests.support.builders import add_inbox, register_many


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_connections_moving_one_recording_exactly_one_wins(alice: UserAPI, tmp_path: Path) -> None:
    add_inbox(alice, tmp_path)
    (recording_id,) = register_many(alice, 1)
    db = alice.leap.db
    both_loaded = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            with db.session() as session:
                recording = session.get_one(Recording, recording_id)
                both_loaded.wait(timeout=10)
                recordings.transition(session, recording, RecordingStatus.DOWNLOADING)
            outcomes.append("won")
        except (ConcurrentModificationError, InvalidTransitionError) as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["ConcurrentModificationError", "won"]
    with db.session() as session:
        row = session.get_one(Recording, recording_id)
        assert (row.status, row.version) == (RecordingStatus.DOWNLOADING, 2)


def test_the_conflict_message_says_what_happened(alice: UserAPI, tmp_path: Path) -> None:
    add_inbox(alice, tmp_path)
    (recording_id,) = register_many(alice, 1)
    db = alice.leap.db
    with db.session() as stale_session:
        stale = stale_session.get_one(Recording, recording_id)
        with db.session() as other:
            recordings.transition(other, other.get_one(Recording, recording_id), RecordingStatus.DOWNLOADING)
        with pytest.raises(ConcurrentModificationError, match="changed by another worker"):
            recordings.transition(stale_session, stale, RecordingStatus.SKIPPED)
