"""The daily credential health check finds a revoked YouTube grant before an upload does, and says so once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from leap_core.api import UserAPI
from leap_core.notifications.health import check_youtube_credentials
from tests.fakes.youtube import FakeYouTube
from tests.support.publishing import SECRET_KEY


@pytest.fixture
def youtube(monkeypatch: pytest.MonkeyPatch, alice: UserAPI) -> Iterator[FakeYouTube]:
    with FakeYouTube() as fake:
        monkeypatch.setattr(alice.leap.settings, "google_token_uri", fake.token_uri)
        monkeypatch.setattr(alice.leap.settings, "youtube_root_url", fake.url)
        monkeypatch.setattr(alice.leap.settings, "secret_key", SECRET_KEY)
        alice.credentials.add("youtube", "channel", fake.credentials())
        yield fake


def test_a_live_grant_passes_quietly(alice: UserAPI, youtube: FakeYouTube) -> None:
    (result,) = check_youtube_credentials(alice.leap.db, alice.leap.settings, datetime.now(UTC))
    assert result.problem is None
    assert alice.notifications.list() == []


def test_a_revoked_grant_asks_its_owner_to_reconnect_once_a_day(alice: UserAPI, youtube: FakeYouTube) -> None:
    youtube.revoke()
    for _ in range(2):
        (result,) = check_youtube_credentials(alice.leap.db, alice.leap.settings, datetime.now(UTC))
    assert result.problem is not None and "reconnect" in result.problem
    (note,) = alice.notifications.list()
    assert (note["type"], note["data"]["action"]) == ("credential.unhealthy", "reconnect")
    assert youtube.refresh_token not in str(note)
