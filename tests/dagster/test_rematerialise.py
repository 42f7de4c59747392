"""Re-materialising `transcript` and everything after it for a published recording means what it says: the
export folder gets the new transcript and subtitles, the YouTube video its new captions and chapters, the
VK video its new chapters (and the metadata says why it gets no captions), no video is uploaded again and
no transcription is charged twice. Real Dagster materialisations against the fake platforms on 127.0.0.1."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance
from sqlalchemy import update

from leap_core.api import UserAPI
from leap_core.db.models import Template
from leap_core.publishing.metadata import description_with_chapters
from leap_core.speech.topic_models import Topics
from leap_dagster.definitions import defs
from tests.fakes.vk import FakeVK
from tests.fakes.youtube import FakeYouTube
from tests.fixtures.media import make_lecture
from tests.support.dagster import settle
from tests.support.publishing import target_platforms

pytestmark = pytest.mark.slow

PRESETS: dict[str, Any] = {
    "youtube": {"credential": "channel", "description": "Notes: {{ summary }}", "privacy": "unlisted"},
    "vk": {"credential": "community", "group_id": 777, "privacy": "public", "description": "Notes: {{ summary }}"},
}
TRANSCRIPT_AND_AFTER = [AssetKey(k) for k in (
    "transcript", "topics", "subtitles", "exported_video", "youtube_video", "vk_video")]


def materialise(instance: DagsterInstance, partition_key: str, assets: list[AssetKey]) -> bool:
    """What the UI's "Materialize selected" runs for one partition (outside the launcher)."""
    result = defs.resolve_job_def("recording_pipeline").execute_in_process(
        partition_key=partition_key, asset_selection=assets, instance=instance, raise_on_error=False)
    return result.success


def latest(instance: DagsterInstance, asset: str) -> dict[str, Any]:
    event = instance.get_latest_materialization_event(AssetKey(asset))
    assert event is not None and event.asset_materialization is not None, asset
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def test_rematerialising_transcript_refreshes_the_export_and_the_published_captions_and_charges_nothing(
    lecturer: UserAPI, youtube: FakeYouTube, vk: FakeVK, instance: DagsterInstance
) -> None:
    target_platforms(lecturer, "inbox", ["local", "youtube", "vk"], PRESETS)
    shutil.copy(make_lecture().path, Path(lecturer.sources()[0]["path"]) / "Linear algebra.mp4")
    assert [r.success for r in settle(instance)] == [True]
    (recording,) = lecturer.recordings()
    assert recording["status"] == "UPLOADED"
    settings = lecturer.leap.settings
    files = settings.resolved_storage_dir / "demo" / recording["id"]
    export = settings.resolved_export_dir / "demo" / recording["id"]
    old_srt = (export / "subtitles.srt").read_bytes()
    charged = lecturer.usage()["transcription_seconds"]
    (video_id,) = youtube.videos
    (vk_id,) = vk.videos
    old_descriptions = (youtube.videos[video_id]["snippet"]["description"], vk.videos[vk_id]["description"])
    with lecturer.leap.db.session() as session:  # the lecturer corrects the template: transcribe in German
        session.execute(update(Template).where(Template.user_id == lecturer.user_id).values(language="de"))

    assert materialise(instance, recording["partition_key"], TRANSCRIPT_AND_AFTER)

    new_srt = (files / "subtitles.srt").read_bytes()
    assert new_srt != old_srt  # the reprocess really produced other subtitles
    for name in ("subtitles.srt", "subtitles.vtt", "transcript.json", "topics.json"):
        assert (export / name).read_bytes() == (files / name).read_bytes(), name
    exported = latest(instance, "exported_video")
    assert exported["status"] == "refreshed" and exported["changed"] == ["transcribe", "topics", "subtitles"]

    captions = {c["language"]: c for c in youtube.captions.values()}  # one track per language, as on YouTube
    assert (captions["de"]["videoId"], captions["de"]["body"]) == (video_id, new_srt)
    topics = Topics.model_validate_json((files / "topics.json").read_text())
    chapters = [(c.start, c.title) for c in topics.chapters]
    assert youtube.videos[video_id]["snippet"]["description"] == description_with_chapters(
        f"Notes: {topics.summary}", chapters)
    on_youtube = latest(instance, "youtube_video")
    assert on_youtube["status"] == "refreshed" and "captions" in on_youtube["refreshed"]
    assert "not_refreshed" not in on_youtube

    assert vk.calls_to("video.edit")
    assert vk.videos[vk_id]["description"] == description_with_chapters(f"Notes: {topics.summary}", chapters)
    assert (youtube.videos[video_id]["snippet"]["description"], vk.videos[vk_id]["description"]) != old_descriptions
    on_vk = latest(instance, "vk_video")
    assert on_vk["status"] == "refreshed" and "LEAP uploads no caption file to VK" in on_vk["not_refreshed"]

    assert len(youtube.videos) == 1 and len(vk.uploads) == 1  # nothing uploaded twice
    assert len(lecturer.activity(action="target.upload")) == 3
    assert len(lecturer.activity(action="target.refresh")) == 3
    assert lecturer.recording(recording["id"])["status"] == "UPLOADED"
    assert lecturer.usage()["transcription_seconds"] == pytest.approx(charged)
    assert lecturer.leap.admin("demo").verify_usage("demo")["ok"]

    assert materialise(instance, recording["partition_key"], [AssetKey("exported_video")])
    assert latest(instance, "exported_video")["status"] == "reused"  # up to date now: nothing to refresh
