"""VkPublisher against a fake VK on 127.0.0.1, through vk-api for calls and a streamed POST for the file."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from leap_core.publishing.base import HumanActionRequired, PublishParked, PublishRequest, ReconnectRequired
from leap_core.publishing.metadata import VK_NAME_LIMIT
from leap_core.publishing.vk import FLOOD_WAIT, VkPublisher
from tests.core.publishing.conftest import VIDEO_SIZE
from tests.fakes.vk import OWNER_ID, FakeVK

GROUP_ID = 777


def publisher(fake: FakeVK, **overrides: Any) -> VkPublisher:
    options: dict[str, Any] = {"api_url": fake.url, "group_id": GROUP_ID, "album_id": 5, "backoff_s": 0.0}
    return VkPublisher(fake.token, **(options | overrides))


def request_for(video: Path, **fields: Any) -> PublishRequest:
    defaults: dict[str, Any] = {
        "video_path": video,
        "title": "Linear algebra, lecture 3",
        "description": "Bases.",
    }
    return PublishRequest(**(defaults | fields))


class Recorder:
    def __init__(self) -> None:
        self.states: list[dict[str, Any]] = []

    def __call__(self, state: dict[str, Any]) -> None:
        self.states.append(state)


def test_a_publish_saves_the_video_then_streams_the_file_to_the_upload_url(vk: FakeVK, video: Path) -> None:
    req = request_for(video, chapters=[(0.0, "Intro"), (90.0, "Bases")])

    result = publisher(vk).publish(req, resume_state=None, checkpoint=Recorder())

    [save] = vk.calls_to("video.save")
    assert save["name"] == "Linear algebra, lecture 3"
    assert save["description"] == "Bases.\n\n0:00 Intro\n1:30 Bases"
    assert (save["group_id"], save["album_id"], save["wallpost"], save["v"]) == ("777", "5", "0", "5.199")
    [upload] = vk.uploads
    assert upload["content_type"].startswith("multipart/form-data")
    assert video.read_bytes() in upload["body"]
    assert b'name="video_file"' in upload["body"]
    assert result.video_id == upload["video"] and result.video_id.startswith(f"-{GROUP_ID}_")
    assert result.url == f"https://vk.com/video{result.video_id}"
    assert (result.platform, result.bytes_sent, result.resumed_from) == ("vk", VIDEO_SIZE, 0)


def test_a_users_own_video_gets_the_requested_privacy(vk: FakeVK, video: Path) -> None:
    publisher(vk, group_id=None).publish(
        request_for(video, privacy_status="private"), resume_state=None, checkpoint=Recorder()
    )

    [save] = vk.calls_to("video.save")
    assert save["privacy_view"] == "only_me"
    assert vk.uploads[0]["video"].startswith(f"{OWNER_ID}_")


def test_a_long_title_is_cut_to_vks_name_limit(vk: FakeVK, video: Path) -> None:
    publisher(vk).publish(request_for(video, title="word " * 60), resume_state=None, checkpoint=Recorder())

    assert len(vk.calls_to("video.save")[0]["name"]) <= VK_NAME_LIMIT


def test_flood_control_is_retried_and_then_succeeds(vk: FakeVK, video: Path) -> None:
    vk.fail("video.save", 9, times=2)
    vk.fail("video.save", 6)

    result = publisher(vk).publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert len(vk.calls_to("video.save")) == 4
    assert result.video_id in vk.videos


def test_flood_control_that_does_not_lift_parks_the_target(vk: FakeVK, video: Path) -> None:
    vk.fail("video.save", 9, times=100)
    before = datetime.now(UTC)

    with pytest.raises(PublishParked, match="VK flood control") as caught:
        publisher(vk, max_retries=2).publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert before + FLOOD_WAIT <= caught.value.retry_after <= datetime.now(UTC) + FLOOD_WAIT
    assert len(vk.calls_to("video.save")) == 3
    assert vk.uploads == []


def test_a_captcha_is_handed_to_a_person_with_its_address_and_never_retried(vk: FakeVK, video: Path) -> None:
    vk.fail(
        "video.save",
        14,
        captcha_sid="123",
        captcha_img="https://vk.com/captcha.php?sid=123",
        redirect_uri="https://id.vk.com/captcha?session=abc",
    )

    with pytest.raises(HumanActionRequired, match="captcha") as caught:
        publisher(vk).publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert caught.value.redirect_uri == "https://id.vk.com/captcha?session=abc"
    assert len(vk.calls_to("video.save")) == 1


def test_an_account_validation_request_is_handed_to_a_person(vk: FakeVK, video: Path) -> None:
    vk.fail("video.save", 17, redirect_uri="https://m.vk.com/login?act=security_check")

    with pytest.raises(HumanActionRequired, match="validate the account") as caught:
        publisher(vk).publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert caught.value.redirect_uri == "https://m.vk.com/login?act=security_check"


def test_a_rejected_token_asks_to_reconnect_the_account(vk: FakeVK, video: Path) -> None:
    client = publisher(vk)
    vk.revoke()

    with pytest.raises(ReconnectRequired, match="VK rejected the stored credentials: reconnect the account"):
        client.publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert len(vk.calls_to("video.save")) == 1


def test_a_video_already_uploaded_is_not_uploaded_again(vk: FakeVK, video: Path) -> None:
    first = Recorder()
    done = publisher(vk).publish(request_for(video), resume_state=None, checkpoint=first)

    again = publisher(vk).publish(request_for(video), resume_state=first.states[-1], checkpoint=Recorder())

    assert again.video_id == done.video_id
    assert (len(vk.calls_to("video.save")), len(vk.uploads), again.bytes_sent) == (1, 1, 0)


def test_a_run_that_died_before_the_file_landed_replaces_its_empty_video(vk: FakeVK, video: Path) -> None:
    class Crash(Exception):
        pass

    def crash_after_save(state: dict[str, Any]) -> None:
        saved.append(state)
        raise Crash

    saved: list[dict[str, Any]] = []
    with pytest.raises(Crash):
        publisher(vk).publish(request_for(video), resume_state=None, checkpoint=crash_after_save)

    result = publisher(vk).publish(request_for(video), resume_state=saved[-1], checkpoint=Recorder())

    assert list(vk.videos) == [result.video_id]
    assert vk.videos[result.video_id]["uploaded"] > VIDEO_SIZE


def test_updating_and_deleting_address_the_published_video(vk: FakeVK, video: Path) -> None:
    client = publisher(vk)
    result = client.publish(request_for(video), resume_state=None, checkpoint=Recorder())

    client.update_metadata(result.video_id, request_for(video, title="Lecture 3 (fixed)", description="Bases, redone."))
    assert vk.videos[result.video_id]["name"] == "Lecture 3 (fixed)"
    assert vk.videos[result.video_id]["description"] == "Bases, redone."
    assert "description" not in vk.calls_to("video.edit")[0]  # VK would ignore it

    client.delete(result.video_id)
    assert vk.videos == {}


def test_the_token_reaches_neither_the_logs_nor_the_error_messages(
    vk: FakeVK, video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = vk.token
    vk.fail("video.save", 6)
    client = publisher(vk)
    client.publish(request_for(video), resume_state=None, checkpoint=Recorder())
    vk.fail("video.save", 100)
    with pytest.raises(Exception) as caught:
        client.publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert caplog.records
    assert token not in caplog.text + str(caught.value) + repr(caught.value)


def test_an_upload_host_503_is_retried_with_the_whole_file(vk: FakeVK, video: Path) -> None:
    vk.fail_upload(503)

    result = publisher(vk).publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert [u["status"] for u in vk.uploads] == [503, 200]
    assert result.bytes_sent == VIDEO_SIZE
