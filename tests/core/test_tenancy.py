"""Tenant isolation: listings, usage and stats show only the caller's rows.

Every user-scoped call aimed at another user's ids is covered by `test_isolation_matrix.py`, generated
from the API's own methods and the CLI's own commands (it replaced the hand-written list that lived here).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leap_core.api import UserAPI
from leap_core.states import RecordingStatus
from tests.support.builders import add_inbox, force_status, register_many

Victim = dict[str, str]


@pytest.fixture
def victim(alice: UserAPI, bob: UserAPI, tmp_path: Path) -> Victim:
    add_inbox(alice, tmp_path, process_on_arrival=False)
    add_inbox(bob, tmp_path, process_on_arrival=False)
    recording, failed = register_many(alice, 2)
    force_status(alice, [failed], RecordingStatus.FAILED, "download")
    (own_failed,) = register_many(bob, 1)
    force_status(bob, [own_failed], RecordingStatus.FAILED, "download")
    return {"recording": recording, "failed": failed, "own_failed": own_failed,
            "template": alice.templates()[0]["id"], "source": alice.sources()[0]["id"]}


def test_listings_usage_and_stats_show_only_the_callers_own_rows(
    alice: UserAPI, bob: UserAPI, victim: Victim
) -> None:
    assert victim["recording"] not in {r["id"] for r in bob.recordings()}
    assert bob.select(template=victim["template"]) == []
    assert bob.stats().totals.iloc[0]["recordings"] == 1
    assert (bob.usage()["recordings_count"], alice.usage()["recordings_count"]) == (1, 2)
    assert {e["user_id"] for e in bob.activity()} == {bob.user_id}
