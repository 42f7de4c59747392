"""Tenant isolation: every user-scoped call aimed at another user's ids reads as not found, changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leap_core.api import Leap, UserAPI
from leap_core.errors import NotFoundError
from leap_core.states import RecordingStatus
from tests.support.builders import add_inbox, force_status, register_many
from tests.support.snapshots import snapshot

Victim = dict[str, str]
CALLS: dict[str, Callable[[UserAPI, Victim], Any]] = {
    "recording": lambda api, v: api.recording(v["recording"]),
    "stages": lambda api, v: api.stages(v["recording"]),
    "retry": lambda api, v: api.retry([v["failed"]]),
    "retry mixed with an own id": lambda api, v: api.retry([v["own_failed"], v["failed"]]),
    "reset": lambda api, v: api.reset(v["failed"]),
    "process": lambda api, v: api.process([v["recording"]]),
    "skip": lambda api, v: api.skip([v["recording"]]),
    "delete": lambda api, v: api.delete(v["recording"]),
    "template show": lambda api, v: api.templates_api.show(v["template"]),
    "template update": lambda api, v: api.templates_api.update(v["template"], priority=9),
    "source sync": lambda api, v: api.sources_api.sync(v["source"]),
}


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


@pytest.mark.parametrize("call", list(CALLS))
def test_a_user_scoped_call_on_another_users_id_is_not_found_and_changes_nothing(
    leap: Leap, bob: UserAPI, victim: Victim, call: str
) -> None:
    before = snapshot(leap)
    with pytest.raises(NotFoundError):
        CALLS[call](bob, victim)
    assert snapshot(leap) == before


def test_listings_usage_and_stats_show_only_the_callers_own_rows(
    alice: UserAPI, bob: UserAPI, victim: Victim
) -> None:
    assert victim["recording"] not in {r["id"] for r in bob.recordings()}
    assert bob.select(template=victim["template"]) == []
    assert bob.stats().totals.iloc[0]["recordings"] == 1
    assert (bob.usage()["recordings_count"], alice.usage()["recordings_count"]) == (1, 2)
    assert {e["user_id"] for e in bob.activity()} == {bob.user_id}
