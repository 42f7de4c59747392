"""Asset checks re-read the stored outputs on a real Dagster instance and pass or fail with numbers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import AssetCheckEvaluation, AssetKey, DagsterInstance
from dagster._core.execution.execute_in_process_result import ExecuteInProcessResult

from leap_core.api import UserAPI
from leap_dagster.checks import trimmed_video_matches_its_cut_list
from leap_dagster.definitions import defs
from tests.fixtures.media import Lecture, make_lecture
from tests.support.dagster import settle

CHECK_KEY = trimmed_video_matches_its_cut_list.check_key


def drop_lecture(demo: UserAPI, lecture: Lecture) -> None:
    shutil.copy(lecture.path, Path(demo.sources()[0]["path"]) / "Week 1.mp4")


def evaluation(run: ExecuteInProcessResult) -> AssetCheckEvaluation:
    (found,) = [e for e in run.get_asset_check_evaluations() if e.asset_check_key == CHECK_KEY]
    return found


def trim_metadata(instance: DagsterInstance) -> dict[str, object]:
    event = instance.get_latest_materialization_event(AssetKey("trimmed_video"))
    assert event is not None and event.asset_materialization is not None
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def check_again(instance: DagsterInstance, partition_key: str) -> AssetCheckEvaluation:
    """Run the check alone against what is stored now, as `dagster asset check` would."""
    job = defs.resolve_job_def("recording_pipeline").get_subset(asset_check_selection={CHECK_KEY})
    return evaluation(job.execute_in_process(partition_key=partition_key, instance=instance))


@pytest.mark.slow
def test_a_trimmed_lecture_records_its_cut_and_passes_the_duration_and_sync_check(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    drop_lecture(demo, make_lecture())
    check_runs: list[ExecuteInProcessResult] = []

    (pipeline_run,) = settle(instance, checks=check_runs)

    assert pipeline_run.get_asset_check_evaluations() == []  # planned in a run of their own, after it
    (run,) = check_runs
    assert run.dagster_run.tags["leap/checks_of"] == pipeline_run.run_id
    trim = trim_metadata(instance)
    assert {"input_duration", "output_duration", "kept", "cut_list_md", "speech_ratio", "mode", "method",
            "method_reason"} <= set(trim)
    assert str(trim["cut_list_md"]).startswith("| # | kept from (s)")
    assert (trim["mode"], trim["method"]) == ("head_tail", "smart_cut")
    assert (trim["audio_copied"], trim["loudness_applied"]) == (True, False)  # head_tail copies: gain recorded
    assert float(trim["loudness_gain_db"]) == pytest.approx(-16.0 - float(trim["loudness_before_lufs"]), abs=0.2)
    result = evaluation(run)
    assert result.passed
    check = {key: value.value for key, value in result.metadata.items()}
    assert check["duration_matches"] is True and check["in_sync"] is True
    assert abs(float(check["duration_error_s"])) <= float(check["tolerance_s"])  # type: ignore[arg-type]
    assert abs(float(check["av_offset_s"])) <= float(check["tolerance_s"])  # type: ignore[arg-type]
    speech_checks = {e.asset_check_key.name: e.passed for e in run.get_asset_check_evaluations()}
    assert speech_checks == {
        CHECK_KEY.name: True, "transcript_has_speech_in_order": True, "transcript_covers_the_speech": True,
        "chapters_follow_youtube_rules": True, "subtitles_parse_within_the_video": True,
    }


@pytest.mark.slow
def test_a_stored_file_that_no_longer_matches_its_cut_list_fails_the_check(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    lecture = make_lecture()
    drop_lecture(demo, lecture)
    settle(instance)
    (recording,) = demo.recordings()
    shutil.copy(lecture.path, Path(str(trim_metadata(instance)["output_path"])))  # untrimmed: far too long

    result = check_again(instance, recording["partition_key"])

    assert not result.passed
    metadata = {key: value.value for key, value in result.metadata.items()}
    assert metadata["duration_matches"] is False
    assert float(metadata["duration_error_s"]) > 1.0  # type: ignore[arg-type]
    assert "duration differs" in (result.description or "")


@pytest.mark.slow
def test_a_blank_recording_is_skipped_with_its_reason_on_the_asset(demo: UserAPI, instance: DagsterInstance) -> None:
    """Nothing materialises for a skipped recording, so the reason goes into an observation of the asset."""
    from tests.fixtures.media import LectureSpec

    drop_lecture(demo, make_lecture(LectureSpec(tracks=("noise", "noise"))))

    settle(instance)

    assert instance.get_latest_materialization_event(AssetKey("trimmed_video")) is None
    (observed,) = instance.fetch_observations(AssetKey("trimmed_video"), limit=1).records
    assert observed.asset_observation is not None
    metadata = {key: value.value for key, value in observed.asset_observation.metadata.items()}
    assert metadata["status"] == "blank" and metadata["skipped"] is True
    assert "no audio track carries speech" in str(metadata["audio_track_reason"])
    [notice] = [n for n in demo.notifications.list() if n["type"] == "recording.skipped"]
    assert notice["data"]["reason"] == "blank"
