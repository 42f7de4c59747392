"""The recording state machine, walked at random against a real database row."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leap_core import recordings
from leap_core.api import Leap, UserAPI
from leap_core.db.models import Recording
from leap_core.errors import InvalidTransitionError
from leap_core.states import RECORDING_TRANSITIONS, TARGET_TRANSITIONS, RecordingStatus, TargetStatus
from tests.support.builders import add_inbox, register_many


def test_every_state_has_a_row_in_the_table() -> None:
    assert set(RECORDING_TRANSITIONS) == set(RecordingStatus)
    assert set(TARGET_TRANSITIONS) == set(TargetStatus)


def test_terminal_states_lead_nowhere() -> None:
    assert RECORDING_TRANSITIONS[RecordingStatus.UPLOADED] == frozenset()
    assert RECORDING_TRANSITIONS[RecordingStatus.SKIPPED] == frozenset()
    assert TARGET_TRANSITIONS[TargetStatus.UPLOADED] == frozenset()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.sampled_from(list(RecordingStatus)), min_size=1, max_size=14))
def test_a_move_is_written_exactly_when_the_table_allows_it(
    leap: Leap, alice: UserAPI, tmp_path: Path, moves: list[RecordingStatus]
) -> None:
    if not alice.sources():
        add_inbox(alice, tmp_path, process_on_arrival=False)
    (recording_id,) = register_many(alice, 1, complete=False)
    current = RecordingStatus.PENDING_SOURCE
    for move in moves:
        legal = move in RECORDING_TRANSITIONS[current]
        with leap.db.session() as session:
            before_version = session.get_one(Recording, recording_id).version
        try:
            with leap.db.session() as session:
                recordings.transition(session, session.get_one(Recording, recording_id), move)
        except InvalidTransitionError:
            assert not legal, f"{current} → {move} is in the table but was refused"
        else:
            assert legal, f"{current} → {move} is not in the table but was accepted"
            current = move
        with leap.db.session() as session:
            row = session.get_one(Recording, recording_id)
            assert row.status is current
            assert row.version == before_version + (1 if legal else 0)
