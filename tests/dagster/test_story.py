"""LEAP's state on the asset partitions: a skipped recording says why, a failure names the user's file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, UrlMetadataValue
from dagster._core.execution.execute_in_process_result import ExecuteInProcessResult

from leap_core.api import UserAPI
from leap_core.story import in_users_words
from leap_dagster.checks import ALL_CHECKS
from leap_dagster.definitions import defs
from tests.dagster.test_publishing import PRESETS
from tests.fakes.vk import FakeVK
from tests.fakes.youtube import FakeYouTube
from tests.fixtures.media import LectureSpec, make_lecture
from tests.support.dagster import settle, tick_checks
from tests.support.publishing import target_platforms

LATER_THAN_TRIM = ["transcript", "topics", "subtitles", "exported_video", "youtube_video", "vk_video"]


def observation(instance: DagsterInstance, asset: str, partition: str) -> tuple[str, dict[str, Any]]:
    records = instance.fetch_observations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[partition]), limit=1).records
    assert records, f"no observation on {asset}"
    seen = records[0].asset_observation
    assert seen is not None
    return seen.description or "", {k: v.value for k, v in seen.metadata.items()}


CHECK_NAMES = [c.check_key.name for c in ALL_CHECKS]


def checks_of(instance: DagsterInstance, partition: str) -> dict[str, str]:
    """Each check's latest execution status on this partition; a check never planned is absent."""
    found: dict[str, str] = {}
    for check in ALL_CHECKS:
        history = instance.event_log_storage.get_asset_check_execution_history(
            check.check_key, limit=20)
        statuses = [h.status.value for h in history if h.partition == partition]
        if statuses:
            found[check.check_key.name] = statuses[0]
    return found


def by_title(demo: UserAPI) -> dict[str, dict[str, Any]]:
    return {r["title"]: r for r in demo.recordings()}


def test_internal_file_names_become_the_users_file_name() -> None:
    assert in_users_words("source.mp4: file is truncated or corrupt", "Week 1.mp4") == \
        "'Week 1.mp4': file is truncated or corrupt"
    assert in_users_words("cannot read /srv/leap/storage/demo/01J/trimmed.m4a", "W.mov") == \
        "cannot read the trimmed copy of 'W.mov'"
    assert in_users_words("resource.txt and sources.mp4 stay", "x") == "resource.txt and sources.mp4 stay"


@pytest.mark.slow
def test_a_skipped_recording_shows_its_reason_on_every_later_asset_and_its_checks_are_skipped(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    silent = make_lecture(LectureSpec(sentences=(), head_silence=6.0, tail_silence=0.0))
    shutil.copy(silent.path, Path(demo.sources()[0]["path"]) / "Empty room.mp4")

    (run,) = settle(instance)

    recording = by_title(demo)["Empty room"]
    assert (recording["status"], recording["skip_reason"]) == ("SKIPPED", "blank")
    key = recording["partition_key"]
    description, metadata = observation(instance, "trimmed_video", key)
    assert description.startswith("SKIPPED: blank recording (only ")
    assert metadata["leap/state"] == "SKIPPED" and metadata["leap/file"] == "Empty room.mp4"
    assert "why skipped" in str(metadata["leap/story"])
    for later in LATER_THAN_TRIM:
        description, metadata = observation(instance, later, key)
        assert description.startswith("not run: SKIPPED: blank recording"), later
        assert metadata["leap/reason"].startswith("blank recording")
    assert run.success
    assert instance.get_latest_materialization_event(AssetKey("trimmed_video")) is None
    assert checks_of(instance, key) == {}  # no stage after download ran, so no check was planned or failed


@pytest.mark.slow
def test_a_failure_at_download_names_the_users_file_and_tells_each_later_asset_why_it_did_not_run(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    (Path(demo.sources()[0]["path"]) / "Week 3.mp4").write_bytes(b"this is not a video at all" * 100)
    check_runs: list[ExecuteInProcessResult] = []

    (run,) = settle(instance, checks=check_runs)

    recording = by_title(demo)["Week 3"]
    key = recording["partition_key"]
    (failure,) = [e for e in run.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description  # type: ignore[union-attr]
    assert message.startswith("'Week 3.mp4': ") and "source.mp4" not in message
    description, metadata = observation(instance, "raw_video", key)
    assert description.startswith("FAILED at download: 'Week 3.mp4': ")
    assert (metadata["leap/state"], metadata["leap/failed_stage"]) == ("FAILED", "download")
    description, _ = observation(instance, "trimmed_video", key)
    assert description.startswith("not run: FAILED at download: 'Week 3.mp4'")
    assert "source.mp4" not in (recording["error"] or "")
    assert check_runs == [] and checks_of(instance, key) == {}  # the trim check is not "failed": it never ran


@pytest.mark.slow
def test_a_published_recording_carries_its_story_with_the_link_to_its_export(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    shutil.copy(make_lecture().path, Path(demo.sources()[0]["path"]) / "Week 1.mp4")
    check_runs: list[ExecuteInProcessResult] = []

    settle(instance, checks=check_runs)

    event = instance.get_latest_materialization_event(AssetKey("exported_video"))
    assert event is not None and event.asset_materialization is not None
    metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert metadata["leap/state"] == "UPLOADED" and metadata["leap/file"] == "Week 1.mp4"
    assert str(metadata["leap/url/local"]).startswith("file://")
    story = str(metadata["leap/story"])
    assert "| local | UPLOADED [file://" in story and "tag%3Adagster%2Fpartition%3D" in story
    key = event.asset_materialization.partition or ""
    _, not_wanted = observation(instance, "youtube_video", key)
    assert not_wanted["leap/state"] == "UPLOADED"
    assert [r.success for r in check_runs] == [True]
    assert checks_of(instance, key) == {name: "SUCCEEDED" for name in CHECK_NAMES}

    by_hand = defs.resolve_job_def("recording_pipeline").get_subset(asset_selection={AssetKey("subtitles")})
    ui_run = by_hand.execute_in_process(partition_key=key, instance=instance)  # "Materialize" in the UI
    assert [e.asset_check_key.name for e in ui_run.get_asset_check_evaluations()] == [
        "subtitles_parse_within_the_video"]  # planned in its own run, as Dagster does
    again = tick_checks(instance)
    assert again == []  # so the check sensor asks for no second check run


@pytest.mark.slow
def test_a_recording_published_to_youtube_and_vk_carries_their_links_in_its_story(
    lecturer: UserAPI, youtube: FakeYouTube, vk: FakeVK, instance: DagsterInstance
) -> None:
    """Each target's materialisation tells the story as of its upload: its own link at least, and the
    last one (the recording UPLOADED) every link, whichever order the targets ran in."""
    target_platforms(lecturer, "inbox", ["local", "youtube", "vk"], PRESETS)
    shutil.copy(make_lecture().path, Path(lecturer.sources()[0]["path"]) / "Week 2.mp4")

    settle(instance)

    ((video_id, _),) = youtube.videos.items()
    (upload,) = vk.uploads
    links = {"youtube": f"https://www.youtube.com/watch?v={video_id}", "vk": f"https://vk.com/video{upload['video']}"}
    (row,) = lecturer.recordings()
    assert {t["platform"]: t["url"] for t in lecturer.recording(row["id"])["targets"]
            if t["platform"] != "local"} == links
    stories: dict[str, dict[str, Any]] = {}
    for asset, platform in (("youtube_video", "youtube"), ("vk_video", "vk"), ("exported_video", "local")):
        event = instance.get_latest_materialization_event(AssetKey(asset))
        assert event is not None and event.asset_materialization is not None, asset
        metadata = event.asset_materialization.metadata
        assert isinstance(metadata[f"leap/url/{platform}"], UrlMetadataValue), asset  # a link in the UI
        stories[asset] = {k: v.value for k, v in metadata.items()}
    assert stories["youtube_video"]["leap/url/youtube"] == links["youtube"]
    assert stories["vk_video"]["leap/url/vk"] == links["vk"]
    (last,) = [story for story in stories.values() if story["leap/state"] == "UPLOADED"]
    assert (last["leap/url/youtube"], last["leap/url/vk"]) == (links["youtube"], links["vk"])
    assert str(last["leap/url/local"]).startswith("file://")
    card = str(last["leap/story"])
    for platform, url in links.items():
        assert f"| {platform} | UPLOADED [{url}]({url}) |" in card
