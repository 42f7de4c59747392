"""The daily credential health check finds a revoked YouTube grant, or a VK token that is expired or of the
wrong kind, before an upload does, and says so once a day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance, RunRequest, build_schedule_context, instance_for_test

from leap_core.api import UserAPI
from leap_core.notifications.health import check_credentials
from leap_core.publishing.base import PublishError, PublishRequest
from leap_core.publishing.vk import VkPublisher
from leap_dagster.resources import LeapResource
from leap_dagster.schedules_notifications import credential_health, credential_health_schedule
from tests.core.notifications.conftest import free_port
from tests.fakes.vk import GROUPS, OFFLINE, FakeVK
from tests.fakes.youtube import FakeYouTube
from tests.support.publishing import SECRET_KEY

NOW = datetime(2026, 1, 5, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch, alice: UserAPI) -> None:
    monkeypatch.setattr(alice.leap.settings, "secret_key", SECRET_KEY)


@pytest.fixture
def youtube(monkeypatch: pytest.MonkeyPatch, alice: UserAPI) -> Iterator[FakeYouTube]:
    with FakeYouTube() as fake:
        monkeypatch.setattr(alice.leap.settings, "google_token_uri", fake.token_uri)
        monkeypatch.setattr(alice.leap.settings, "youtube_root_url", fake.url)
        alice.credentials.add("youtube", "channel", fake.credentials())
        yield fake


@pytest.fixture
def vk(monkeypatch: pytest.MonkeyPatch, alice: UserAPI) -> Iterator[FakeVK]:
    with FakeVK() as fake:
        monkeypatch.setattr(alice.leap.settings, "vk_api_url", fake.url)
        alice.credentials.add("vk", "community", {"token": fake.token})
        yield fake


def check(alice: UserAPI) -> list[tuple[str, str | None, str | None]]:
    return [(r.platform, r.problem, r.unchecked) for r in check_credentials(alice.leap.db, alice.leap.settings, NOW)]


def test_a_live_grant_passes_quietly(alice: UserAPI, youtube: FakeYouTube) -> None:
    assert check(alice) == [("youtube", None, None)]
    assert alice.notifications.list() == []


def test_a_revoked_grant_asks_its_owner_to_reconnect_once_a_day(alice: UserAPI, youtube: FakeYouTube) -> None:
    youtube.revoke()
    for _ in range(2):
        [(_, problem, _)] = check(alice)
    assert problem is not None and "reconnect" in problem
    (note,) = alice.notifications.list()
    assert (note["type"], note["data"]["action"]) == ("credential.unhealthy", "reconnect")
    assert youtube.refresh_token not in str(note)


def test_a_vk_user_token_with_the_video_right_passes_quietly(alice: UserAPI, vk: FakeVK) -> None:
    assert check(alice) == [("vk", None, None)]
    assert len(vk.calls_to("account.getAppPermissions")) == 1
    assert alice.notifications.list() == []


def test_an_expired_vk_token_asks_its_owner_to_reconnect_once_a_day(alice: UserAPI, vk: FakeVK) -> None:
    token = vk.token
    vk.revoke()
    for _ in range(2):
        assert check(alice) == [("vk", "VK rejected the stored credentials: reconnect the account", None)]
    (note,) = alice.notifications.list()
    assert note["type"] == "credential.unhealthy"
    assert (note["data"]["platform"], note["data"]["name"], note["data"]["action"]) == ("vk", "community", "reconnect")
    assert token not in str(note)


def test_a_vk_community_token_is_the_wrong_kind_for_uploading_videos(alice: UserAPI, vk: FakeVK) -> None:
    vk.use_community_token()
    [(_, problem, _)] = check(alice)
    assert problem == ("VK: this is a community token, and VK uploads videos only with a user token; "
                       "reconnect with a user token that has the video right")
    (note,) = alice.notifications.list()
    assert "community token" in note["body"] and vk.token not in str(note)


def test_a_vk_user_token_without_the_video_right_is_the_wrong_kind(alice: UserAPI, vk: FakeVK) -> None:
    vk.rights = GROUPS | OFFLINE
    [(_, problem, _)] = check(alice)
    assert problem is not None and "the token lacks the video right" in problem
    assert len(alice.notifications.list()) == 1


def test_an_unreachable_vk_is_reported_unchecked_and_notifies_nobody(
    alice: UserAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alice.leap.settings, "vk_api_url", f"http://127.0.0.1:{free_port()}")
    alice.credentials.add("vk", "profile", {"token": "vk1.a.some-user-token"})
    assert check(alice) == [("vk", None, "could not ask VK about the token (ConnectionError)")]
    assert alice.notifications.list() == []


def test_each_owner_hears_only_of_their_own_credentials(
    alice: UserAPI, bob: UserAPI, vk: FakeVK, youtube: FakeYouTube
) -> None:
    bob.credentials.add("vk", "bob's page", {"token": "vk1.a.bobs-token-that-vk-does-not-know"})
    results = check_credentials(alice.leap.db, alice.leap.settings, NOW)
    assert sorted((r.user_id == bob.user_id, r.platform, r.problem is None) for r in results) == [
        (False, "vk", True), (False, "youtube", True), (True, "vk", False)]
    assert alice.notifications.list() == []
    [note] = bob.notifications.list()
    assert note["data"]["name"] == "bob's page"


def test_the_fake_vk_refuses_uploads_with_a_community_token_as_vk_does(vk: FakeVK, tmp_path: Path) -> None:
    vk.use_community_token()
    video = tmp_path / "lecture.mp4"
    video.write_bytes(b"\0" * 64)
    publisher = VkPublisher(vk.token, api_url=vk.url, max_retries=0)
    with pytest.raises(PublishError, match=r"error 27"):
        publisher.publish(PublishRequest(video_path=video, title="Lecture"), resume_state=None,
                          checkpoint=lambda state: None)
    assert vk.videos == {}


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as dagster_instance:
        yield dagster_instance


def test_the_morning_schedule_checks_every_platform_and_counts_those_needing_attention(
    alice: UserAPI, vk: FakeVK, youtube: FakeYouTube, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The resource reads its settings from the environment, as `dagster dev` would."""
    for name, value in {"SECRET_KEY": SECRET_KEY, "VK_API_URL": vk.url, "GOOGLE_TOKEN_URI": youtube.token_uri,
                        "YOUTUBE_ROOT_URL": youtube.url}.items():
        monkeypatch.setenv(f"LEAP_{name}", value)
    vk.use_community_token()
    with build_schedule_context(instance=instance, scheduled_execution_time=NOW) as context:
        request = credential_health_schedule(context)
    assert isinstance(request, RunRequest) and request.run_key == f"credential-health-{NOW.isoformat()}"

    result = credential_health.execute_in_process(
        instance=instance, resources={"leap": LeapResource(database_url=alice.leap.db.url, home=str(tmp_path))})

    assert result.success and result.output_for_node("credential_health_op") == 1
    [note] = alice.notifications.list()
    assert note["data"]["platform"] == "vk"
