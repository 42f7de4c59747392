"""A dropped lecture is published to YouTube and VK (fakes on 127.0.0.1) by the real Dagster assets: targets
are independent, a retry publishes only what failed, an interrupted upload resumes, platform refusals leave
a clear FAILED target, and no secret reaches a log, the event log or the audit table."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance
from sqlalchemy import create_engine, select, text

from leap_core.api import UserAPI
from leap_core.db.models import Notification
from leap_core.publishing.metadata import description_with_chapters
from leap_core.publishing.youtube import DEFAULT_CHUNK_SIZE, next_quota_reset
from leap_core.speech.topic_models import Topics
from leap_dagster.definitions import defs
from tests.fakes.vk import FakeVK
from tests.fakes.youtube import FakeYouTube
from tests.fixtures.media import LectureSpec, make_lecture
from tests.support.dagster import settle
from tests.support.publishing import leaked, readable_records, target_platforms, target_row

pytestmark = pytest.mark.slow

GROUP_ID = 777
PLAYLIST = "PLlinear-algebra"
PRESETS: dict[str, Any] = {
    "youtube": {
        "credential": "channel", "title": "{{ title }} ({{ date }})", "description": "Notes: {{ summary }}",
        "tags": ["linear algebra"], "privacy": "unlisted", "playlist_id": PLAYLIST,
    },
    "vk": {"credential": "community", "group_id": GROUP_ID, "album_id": 5, "privacy": "public"},
}
# Large enough for three YouTube chunks, so an upload can be interrupted with chunks on both sides.
LARGE = LectureSpec(size="1920x1080")


def drop(user: UserAPI, spec: LectureSpec = LectureSpec(), name: str = "Linear algebra.mp4") -> None:
    shutil.copy(make_lecture(spec).path, Path(user.sources()[0]["path"]) / name)


def only_recording(user: UserAPI) -> dict[str, Any]:
    (recording,) = user.recordings()
    return user.recording(recording["id"])


def targets_of(recording: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["platform"]: t for t in recording["targets"]}


def files_of(user: UserAPI, recording: dict[str, Any]) -> Path:
    return user.leap.settings.resolved_storage_dir / user.user.slug / recording["id"]


def trimmed_size(user: UserAPI, recording: dict[str, Any]) -> int:
    return (files_of(user, recording) / "trimmed.mp4").stat().st_size


def materialized(instance: DagsterInstance, asset: str) -> dict[str, Any]:
    event = instance.get_latest_materialization_event(AssetKey(asset))
    assert event is not None and event.asset_materialization is not None, asset
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def test_a_dropped_lecture_is_published_to_youtube_with_captions_and_playlist_and_to_vk(
    lecturer: UserAPI, youtube: FakeYouTube, vk: FakeVK, instance: DagsterInstance, caplog: pytest.LogCaptureFixture
) -> None:
    target_platforms(lecturer, "inbox", ["local", "youtube", "vk"], PRESETS)
    caplog.set_level(logging.DEBUG)
    drop(lecturer)

    runs = settle(instance)

    assert [r.success for r in runs] == [True]
    recording = only_recording(lecturer)
    assert recording["status"] == "UPLOADED"
    targets = targets_of(recording)
    assert {p: t["status"] for p, t in targets.items()} == dict.fromkeys(("local", "youtube", "vk"), "UPLOADED")
    size = trimmed_size(lecturer, recording)
    ((video_id, video),) = youtube.videos.items()
    assert targets["youtube"]["video_id"] == video_id
    assert targets["youtube"]["url"] == f"https://www.youtube.com/watch?v={video_id}"
    assert video["snippet"]["title"].startswith("Linear algebra (20")
    topics = Topics.model_validate_json((files_of(lecturer, recording) / "topics.json").read_text())
    chapters = [(c.start, c.title) for c in topics.chapters]
    assert video["snippet"]["description"] == description_with_chapters(f"Notes: {topics.summary}", chapters)
    assert (video["status"]["privacyStatus"], video["session"].received) == ("unlisted", size)
    assert [item["snippet"]["playlistId"] for item in youtube.playlist_items] == [PLAYLIST]
    (caption,) = youtube.captions.values()
    srt = files_of(lecturer, recording) / "subtitles.srt"
    assert (caption["videoId"], caption["language"], caption["body"]) == (video_id, "en", srt.read_bytes())
    (upload,) = vk.uploads
    assert targets["vk"]["video_id"] == upload["video"] == f"{-GROUP_ID}_{upload['video'].split('_')[1]}"
    assert upload["bytes"] > size  # the file inside a multipart body
    (save,) = vk.calls_to("video.save")
    assert (save["group_id"], save["album_id"], save["name"]) == (str(GROUP_ID), "5", "Linear algebra")
    youtube_meta = materialized(instance, "youtube_video")
    assert youtube_meta["video_id"] == video_id and youtube_meta["credential"] == "channel"
    assert (youtube_meta["bytes_sent"], youtube_meta["resumed_from"]) == (size, 0)
    assert youtube_meta["quota_units"] == 1600 + 50 + 400
    assert youtube_meta["truncated"] == []  # everything fit: nothing was cut to YouTube's limits
    assert materialized(instance, "vk_video")["bytes_sent"] == size
    secrets = [*youtube.credentials().values(), *youtube.access_tokens, vk.token, "upload_id="]
    places = readable_records(lecturer, instance) | {"captured logs": caplog.text}
    assert leaked(places, secrets) == []


def test_re_materialising_a_published_target_reuses_its_video_instead_of_uploading_again(
    lecturer: UserAPI, youtube: FakeYouTube, vk: FakeVK, instance: DagsterInstance
) -> None:
    target_platforms(lecturer, "inbox", ["youtube", "vk"], PRESETS)
    drop(lecturer)
    settle(instance)
    recording = only_recording(lecturer)

    rerun = defs.resolve_job_def("recording_pipeline").execute_in_process(
        partition_key=recording["partition_key"], instance=instance,
        asset_selection=[AssetKey("youtube_video"), AssetKey("vk_video")],
    )

    assert rerun.success
    assert (materialized(instance, "youtube_video")["status"], materialized(instance, "vk_video")["status"]) == (
        "reused", "reused")
    assert len(youtube.requests_to("POST", "/upload/youtube/v3/videos")) == 1 and len(vk.uploads) == 1
    assert only_recording(lecturer)["status"] == "UPLOADED"


def test_when_vk_asks_for_a_captcha_youtube_still_publishes_and_a_retry_publishes_only_vk(
    lecturer: UserAPI, youtube: FakeYouTube, vk: FakeVK, instance: DagsterInstance
) -> None:
    target_platforms(lecturer, "inbox", ["youtube", "vk"], PRESETS)
    vk.fail("video.save", 14, captcha_sid="42", redirect_uri="https://id.vk.com/captcha?session=s42")
    drop(lecturer)

    settle(instance)

    recording = only_recording(lecturer)
    assert (recording["status"], recording["failed_at_stage"]) == ("FAILED", "upload:vk")
    targets = targets_of(recording)
    assert targets["youtube"]["status"] == "UPLOADED"
    assert targets["vk"]["status"] == "FAILED"
    assert "captcha" in targets["vk"]["error"] and "https://id.vk.com/captcha?session=s42" in targets["vk"]["error"]

    lecturer.retry([recording["id"]])
    runs = settle(instance)

    assert [r.success for r in runs] == [True]
    recording = only_recording(lecturer)
    assert recording["status"] == "UPLOADED"
    assert {t["status"] for t in recording["targets"]} == {"UPLOADED"}
    assert len(youtube.requests_to("POST", "/upload/youtube/v3/videos")) == 1
    assert youtube.bytes_received == trimmed_size(lecturer, recording)
    assert [u["status"] for u in vk.uploads] == [200]


REFUSE_THE_SECOND_CHECKPOINT = f"""
CREATE FUNCTION refuse_second_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.resume_state->>'phase' = 'uploading' AND (NEW.resume_state->>'offset')::bigint > {DEFAULT_CHUNK_SIZE} THEN
        RAISE EXCEPTION 'could not extend file: No space left on device';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_second_checkpoint BEFORE UPDATE ON output_targets
    FOR EACH ROW EXECUTE FUNCTION refuse_second_checkpoint();
"""


def test_an_upload_whose_progress_could_not_be_saved_resumes_the_same_session_on_retry(
    lecturer: UserAPI, youtube: FakeYouTube, instance: DagsterInstance, pg_url: str
) -> None:
    target_platforms(lecturer, "inbox", ["youtube"], PRESETS)
    engine = create_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(text(REFUSE_THE_SECOND_CHECKPOINT))
    drop(lecturer, LARGE)

    settle(instance)

    recording = only_recording(lecturer)
    target = targets_of(recording)["youtube"]
    assert (recording["status"], target["status"]) == ("FAILED", "FAILED")
    assert "could not save the upload's progress" in target["error"] and "upload_id" not in target["error"]
    stored = target_row(lecturer, recording["id"], "youtube").resume_state
    assert (stored["phase"], stored["offset"]) == ("uploading", DEFAULT_CHUNK_SIZE)

    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER refuse_second_checkpoint ON output_targets"))
    engine.dispose()
    lecturer.retry([recording["id"]])
    settle(instance)

    recording = only_recording(lecturer)
    assert recording["status"] == "UPLOADED"
    size = trimmed_size(lecturer, recording)
    assert size > 2 * DEFAULT_CHUNK_SIZE
    assert len(youtube.sessions) == 1 and len(youtube.videos) == 1
    assert youtube.bytes_received == size
    meta = materialized(instance, "youtube_video")
    assert (meta["resumed_from"], meta["bytes_sent"]) == (2 * DEFAULT_CHUNK_SIZE, size - 2 * DEFAULT_CHUNK_SIZE)
    assert meta["quota_units"] == 400 + 50  # the insert was paid for by the first attempt
    assert target_row(lecturer, recording["id"], "youtube").resume_state == {}


def test_a_used_up_quota_parks_youtube_until_midnight_pacific_and_a_revoked_grant_asks_to_reconnect_once(
    lecturer: UserAPI, youtube: FakeYouTube, instance: DagsterInstance, caplog: pytest.LogCaptureFixture
) -> None:
    target_platforms(lecturer, "inbox", ["youtube"], PRESETS)
    youtube.fail("insert", 403, "quotaExceeded")
    caplog.set_level(logging.DEBUG)
    drop(lecturer)
    before = datetime.now(UTC)

    settle(instance)

    recording = only_recording(lecturer)
    target = targets_of(recording)["youtube"]
    assert (recording["status"], target["status"]) == ("FAILED", "FAILED")
    assert "quota" in target["error"] and "retry after" in target["error"]
    assert target["retry_after"] in {next_quota_reset(before), next_quota_reset(datetime.now(UTC))}
    assert youtube.videos == {}

    youtube.revoke()
    for _ in range(2):
        lecturer.retry([recording["id"]])
        settle(instance)

    recording = only_recording(lecturer)
    target = targets_of(recording)["youtube"]
    assert (recording["status"], target["status"], target["retry_after"]) == ("FAILED", "FAILED", None)
    assert "reconnect the account" in target["error"] and "Traceback" not in target["error"]
    with lecturer.leap.db.session() as session:
        reconnects = session.scalars(select(Notification).where(Notification.event_type == "credential.unhealthy"))
        assert [(n.data["name"], n.data["action"]) for n in reconnects] == [("channel", "reconnect")]
    secrets = [*youtube.credentials().values(), *youtube.access_tokens]
    places = readable_records(lecturer, instance) | {"captured logs": caplog.text}
    assert leaked(places, secrets) == []


def test_a_parked_youtube_upload_is_retried_when_due_and_uploaded_once(
    lecturer: UserAPI, youtube: FakeYouTube, instance: DagsterInstance
) -> None:
    target_platforms(lecturer, "inbox", ["youtube"], PRESETS)
    youtube.fail("insert", 403, "quotaExceeded")
    drop(lecturer)
    settle(instance)
    recording = only_recording(lecturer)
    assert targets_of(recording)["youtube"]["retry_after"] is not None

    settle(instance)  # not due yet: nothing is requested
    assert youtube.videos == {}
    with lecturer.leap.db.session() as session:
        session.execute(text("UPDATE output_targets SET retry_after = now() - interval '1 minute'"))
    settle(instance)

    recording = only_recording(lecturer)
    assert (recording["status"], targets_of(recording)["youtube"]["status"]) == ("UPLOADED", "UPLOADED")
    assert len(youtube.videos) == 1


def test_reset_and_reprocess_never_uploads_again_republish_updates_and_unpublish_takes_the_video_down(
    lecturer: UserAPI, youtube: FakeYouTube, instance: DagsterInstance
) -> None:
    target_platforms(lecturer, "inbox", ["youtube"], PRESETS)
    drop(lecturer)
    settle(instance)
    recording = only_recording(lecturer)
    (video_id,) = youtube.videos
    uploads = len(youtube.requests_to("POST", "/upload/youtube/v3/videos"))

    lecturer.reset(recording["id"])
    lecturer.process([recording["id"]])
    settle(instance)
    assert only_recording(lecturer)["status"] == "UPLOADED"
    assert len(youtube.requests_to("POST", "/upload/youtube/v3/videos")) == uploads

    (outcome,) = lecturer.republish([recording["id"]])
    assert (outcome["platform"], outcome["video_id"], outcome["result"]) == ("youtube", video_id, "success")
    assert youtube.requests_to("PUT", "/youtube/v3/videos")

    report = lecturer.delete(recording["id"], unpublish=True)
    assert [(u["platform"], u["result"]) for u in report["unpublished"]] == [("youtube", "success")]
    assert youtube.videos == {}
    assert {e["action"] for e in lecturer.activity(action="target.*")} >= {"target.republish", "target.unpublish"}
