"""YouTubePublisher against a fake YouTube on 127.0.0.1, through google-api-python-client and google-auth."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from googleapiclient.version import __version__ as googleapiclient_version

from leap_core.errors import ValidationError
from leap_core.publishing.base import PublishError, PublishParked, PublishRequest, ReconnectRequired
from leap_core.publishing.youtube import CHUNK_UNIT, YouTubePublisher, next_quota_reset
from leap_core.publishing.youtube_resumable import ADAPTED_VERSION
from tests.core.publishing.conftest import SRT, VIDEO_SIZE
from tests.fakes.youtube import FakeYouTube

PACIFIC = ZoneInfo("America/Los_Angeles")


class Crash(Exception):
    """Stands in for the worker dying between two chunks."""


def publisher(fake: FakeYouTube, **overrides: Any) -> YouTubePublisher:
    options: dict[str, Any] = {
        "root_url": fake.url,
        "token_uri": fake.token_uri,
        "chunk_size": CHUNK_UNIT,
        "backoff_s": 0.0,
    }
    return YouTubePublisher(fake.credentials(), **(options | overrides))


def request_for(video: Path, **fields: Any) -> PublishRequest:
    defaults: dict[str, Any] = {
        "video_path": video,
        "title": "Linear algebra, lecture 3",
        "description": "Bases and dimension.",
        "tags": ["math", "linear algebra"],
        "language": "en",
        "privacy_status": "unlisted",
    }
    return PublishRequest(**(defaults | fields))


class Recorder:
    """The caller's side of checkpoints: keeps the last state, optionally crashing on the n-th one."""

    def __init__(self, crash_on: int | None = None) -> None:
        self.states: list[dict[str, Any]] = []
        self.crash_on = crash_on

    def __call__(self, state: dict[str, Any]) -> None:
        if self.crash_on is not None and len(self.states) + 1 == self.crash_on:
            raise Crash
        self.states.append(state)

    @property
    def last(self) -> dict[str, Any] | None:
        return self.states[-1] if self.states else None


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_full_publish_uploads_the_video_then_playlist_and_captions(
    youtube: FakeYouTube, video: Path, captions: Path
) -> None:
    req = request_for(
        video, playlist_id="PL-course", captions_srt=captions, chapters=[(0.0, "Intro"), (75.0, "Bases")]
    )

    result = publisher(youtube).publish(req, resume_state=None, checkpoint=Recorder())

    uploaded = youtube.videos[result.video_id]
    assert uploaded["sha256"] == sha256(video)
    assert uploaded["snippet"]["title"] == "Linear algebra, lecture 3"
    assert uploaded["snippet"]["description"] == "Bases and dimension.\n\n0:00 Intro\n1:15 Bases"
    assert uploaded["status"]["privacyStatus"] == "unlisted"
    assert [item["snippet"]["resourceId"]["videoId"] for item in youtube.playlist_items] == [result.video_id]
    [caption] = youtube.captions.values()
    assert (caption["videoId"], caption["language"], caption["body"]) == (result.video_id, "en", SRT.encode())
    assert (result.platform, result.bytes_sent, result.resumed_from) == ("youtube", VIDEO_SIZE, 0)
    assert result.url == f"https://www.youtube.com/watch?v={result.video_id}"
    assert result.quota_units == 1600 + 50 + 400


def test_quota_costs_come_from_the_constructor_not_the_code(youtube: FakeYouTube, video: Path) -> None:
    costs = {"videos.insert": 100}

    result = publisher(youtube, quota_costs=costs).publish(
        request_for(video), resume_state=None, checkpoint=Recorder()
    )

    assert result.quota_units == 100


def test_a_crashed_upload_resumes_from_the_stored_offset_without_sending_the_bytes_twice(
    youtube: FakeYouTube, video: Path
) -> None:
    crashing = Recorder(crash_on=4)
    with pytest.raises(Crash):
        publisher(youtube).publish(request_for(video), resume_state=None, checkpoint=crashing)
    stored = crashing.last
    assert stored is not None and stored["offset"] == 3 * CHUNK_UNIT

    result = publisher(youtube).publish(request_for(video), resume_state=stored, checkpoint=Recorder())

    assert youtube.bytes_received == VIDEO_SIZE
    assert len(youtube.requests_to("POST", "/upload/youtube/v3/videos")) == 1
    assert result.resumed_from == 4 * CHUNK_UNIT  # the server had the chunk whose checkpoint never landed
    assert result.bytes_sent == VIDEO_SIZE - result.resumed_from
    assert youtube.videos[result.video_id]["sha256"] == sha256(video)
    assert result.quota_units == 0


def test_a_resumed_upload_that_had_already_finished_returns_the_existing_video(
    youtube: FakeYouTube, video: Path
) -> None:
    crashing = Recorder(crash_on=9)  # the last chunk landed; its "uploaded" checkpoint did not
    with pytest.raises(Crash):
        publisher(youtube).publish(request_for(video), resume_state=None, checkpoint=crashing)

    result = publisher(youtube).publish(request_for(video), resume_state=crashing.last, checkpoint=Recorder())

    assert list(youtube.videos) == [result.video_id]
    assert youtube.bytes_received == VIDEO_SIZE


def test_an_expired_upload_session_starts_a_fresh_upload(youtube: FakeYouTube, video: Path) -> None:
    crashing = Recorder(crash_on=3)
    with pytest.raises(Crash):
        publisher(youtube).publish(request_for(video), resume_state=None, checkpoint=crashing)
    youtube.expire_sessions()

    result = publisher(youtube).publish(request_for(video), resume_state=crashing.last, checkpoint=Recorder())

    assert result.resumed_from == 0
    assert len(youtube.requests_to("POST", "/upload/youtube/v3/videos")) == 2
    assert youtube.videos[result.video_id]["sha256"] == sha256(video)


def test_a_video_already_uploaded_is_not_uploaded_again_only_its_missing_steps_run(
    youtube: FakeYouTube, video: Path, captions: Path
) -> None:
    req = request_for(video, playlist_id="PL-course", captions_srt=captions)
    youtube.fail("captions", 500, times=2)
    first = Recorder()
    with pytest.raises(PublishError, match="upload the captions"):
        publisher(youtube, max_retries=1).publish(req, resume_state=None, checkpoint=first)
    chunk_puts = len(youtube.requests_to("PUT", "/upload/youtube/v3/videos"))

    result = publisher(youtube).publish(req, resume_state=first.last, checkpoint=Recorder())

    assert len(youtube.requests_to("PUT", "/upload/youtube/v3/videos")) == chunk_puts
    assert len(youtube.playlist_items) == 1
    assert len(youtube.captions) == 1
    assert (result.bytes_sent, result.quota_units) == (0, 400)


def test_a_503_mid_upload_is_retried_and_the_upload_completes(youtube: FakeYouTube, video: Path) -> None:
    youtube.fail("chunk", 503, after=2, times=2)

    result = publisher(youtube).publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert youtube.videos[result.video_id]["sha256"] == sha256(video)
    assert youtube.bytes_received <= VIDEO_SIZE + 2 * CHUNK_UNIT  # only the refused chunks were re-sent


def test_a_5xx_that_never_ends_fails_with_a_short_message_after_the_retries(
    youtube: FakeYouTube, video: Path
) -> None:
    youtube.fail("insert", 503, times=100)

    with pytest.raises(PublishError) as caught:
        publisher(youtube, max_retries=2).publish(
            request_for(video), resume_state=None, checkpoint=Recorder()
        )

    assert str(caught.value) == "YouTube kept failing to upload the video (HTTP 503) after 3 attempts"
    assert len(youtube.requests_to("POST", "/upload/youtube/v3/videos")) == 3


def test_a_rate_limit_is_retried(youtube: FakeYouTube, video: Path) -> None:
    youtube.fail("insert", 403, "userRateLimitExceeded")

    result = publisher(youtube).publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert result.video_id in youtube.videos


def test_an_exhausted_daily_quota_parks_the_target_until_midnight_pacific(
    youtube: FakeYouTube, video: Path
) -> None:
    youtube.fail("insert", 403, "quotaExceeded", times=100)
    before = datetime.now(UTC)

    with pytest.raises(PublishParked) as caught:
        publisher(youtube).publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert caught.value.retry_after in {next_quota_reset(before), next_quota_reset(datetime.now(UTC))}
    assert len(youtube.requests_to("POST", "/upload/youtube/v3/videos")) == 1


def test_the_channels_upload_limit_parks_the_target_for_a_day(youtube: FakeYouTube, video: Path) -> None:
    youtube.fail("insert", 400, "uploadLimitExceeded")
    before = datetime.now(UTC)

    with pytest.raises(PublishParked, match="upload limit") as caught:
        publisher(youtube).publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert before + timedelta(hours=24) <= caught.value.retry_after <= datetime.now(UTC) + timedelta(hours=24)


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        (datetime(2026, 11, 26, 10, 0, tzinfo=UTC), datetime(2026, 11, 27, 8, 0, tzinfo=UTC)),  # PST, UTC-8
        (datetime(2026, 7, 1, 6, 59, tzinfo=UTC), datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),  # PDT, UTC-7
        (
            datetime(2026, 3, 8, 12, 0, tzinfo=UTC),
            datetime(2026, 3, 9, 7, 0, tzinfo=UTC),
        ),  # DST starts that day
    ],
)
def test_the_quota_resets_at_the_next_pacific_midnight(now: datetime, reset: datetime) -> None:
    assert next_quota_reset(now) == reset
    assert reset.astimezone(PACIFIC).hour == 0


def test_a_revoked_grant_asks_to_reconnect_the_account_without_retrying(
    youtube: FakeYouTube, video: Path
) -> None:
    youtube.revoke()

    with pytest.raises(ReconnectRequired, match="reconnect the account") as caught:
        publisher(youtube).publish(request_for(video), resume_state=None, checkpoint=Recorder())

    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert len(youtube.requests_to("POST", "/token")) == 1
    assert youtube.requests_to("POST", "/upload/youtube/v3/videos") == []


def test_incomplete_stored_credentials_ask_to_reconnect(youtube: FakeYouTube) -> None:
    with pytest.raises(ReconnectRequired):
        YouTubePublisher({"token": "fake.only-an-access-token"}, root_url=youtube.url)


def test_no_credential_reaches_the_logs_or_the_error_messages(
    youtube: FakeYouTube, video: Path, captions: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = [*youtube.credentials().values()]
    caplog.set_level(logging.DEBUG)
    youtube.fail("chunk", 503, after=1)
    publisher(youtube).publish(
        request_for(video, captions_srt=captions), resume_state=None, checkpoint=Recorder()
    )
    youtube.revoke()
    with pytest.raises(ReconnectRequired) as caught:
        publisher(youtube).publish(request_for(video), resume_state=None, checkpoint=Recorder())

    exposed = caplog.text + str(caught.value) + repr(caught.value)
    assert caplog.records  # the libraries did log at DEBUG
    assert not [s for s in [*secrets, *youtube.access_tokens] if s in exposed]


def test_updating_metadata_rewrites_the_snippet_and_replaces_the_caption_track(
    youtube: FakeYouTube, video: Path, captions: Path, tmp_path: Path
) -> None:
    client = publisher(youtube)
    result = client.publish(
        request_for(video, captions_srt=captions), resume_state=None, checkpoint=Recorder()
    )
    new_captions = tmp_path / "new.srt"
    new_captions.write_text("1\n00:00:00,000 --> 00:00:01,000\nHi.\n", encoding="utf-8")

    client.update_metadata(
        result.video_id, request_for(video, title="Lecture 3 (fixed)", captions_srt=new_captions)
    )

    assert youtube.videos[result.video_id]["snippet"]["title"] == "Lecture 3 (fixed)"
    [caption] = youtube.captions.values()
    assert caption["body"] == new_captions.read_bytes()


def test_deleting_removes_the_video_and_deleting_it_again_is_not_an_error(
    youtube: FakeYouTube, video: Path
) -> None:
    client = publisher(youtube)
    result = client.publish(request_for(video), resume_state=None, checkpoint=Recorder())

    client.delete(result.video_id)
    client.delete(result.video_id)

    assert youtube.videos == {}


def test_a_scheduled_public_video_is_refused_before_any_byte_is_sent(
    youtube: FakeYouTube, video: Path
) -> None:
    req = request_for(video, privacy_status="public", publish_at=datetime(2030, 1, 1, tzinfo=UTC))

    with pytest.raises(ValidationError):
        publisher(youtube).publish(req, resume_state=None, checkpoint=Recorder())

    assert youtube.requests == []


def test_a_chunk_size_that_is_not_a_multiple_of_256_kib_is_refused(youtube: FakeYouTube) -> None:
    with pytest.raises(ValidationError, match="multiple of 262144"):
        publisher(youtube, chunk_size=1_000_000)


def test_the_resume_adapter_was_checked_against_the_installed_client_library() -> None:
    assert googleapiclient_version == ADAPTED_VERSION


def test_the_title_slide_becomes_the_thumbnail_and_an_unverified_channels_403_does_not_fail_the_publish(
    youtube: FakeYouTube, video: Path, tmp_path: Path
) -> None:
    slide = tmp_path / "title.jpg"
    slide.write_bytes(b"\xff\xd8\xff\xe0 fake jpeg")
    result = publisher(youtube).publish(request_for(video, thumbnail=slide), resume_state=None, checkpoint=Recorder())
    assert youtube.thumbnails[result.video_id].endswith(b"fake jpeg") and result.skipped == ()

    youtube.fail("thumbnail", 403, "forbidden")
    recorder = Recorder()
    second = publisher(youtube).publish(request_for(video, thumbnail=slide), resume_state=None, checkpoint=recorder)
    assert second.video_id in youtube.videos and second.video_id not in youtube.thumbnails
    assert len(second.skipped) == 1 and second.skipped[0].startswith("thumbnail: ")
    assert recorder.last is not None and "thumbnail" in recorder.last["done"]
