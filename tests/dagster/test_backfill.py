"""Backfills: re-materialising a stage over finished recordings regenerates it in place, uploads nothing again."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance

from leap_core.api import UserAPI
from leap_core.errors import InvalidTransitionError, StageError
from leap_core.pipeline.runner import StageInput, StageOutput
from leap_core.recordings import stages_of
from leap_core.stages import TRANSCRIBE
from leap_core.states import RecordingStatus
from leap_dagster.definitions import defs
from tests.fixtures.media import make_lecture
from tests.support.builders import force_status, register_many
from tests.support.dagster import settle

DOWNSTREAM_OF_TRANSCRIPT = [AssetKey(k) for k in ("transcript", "topics", "subtitles", "exported_video")]


def uploaded_recording(demo: UserAPI, instance: DagsterInstance) -> dict[str, Any]:
    shutil.copy(make_lecture().path, Path(demo.sources()[0]["path"]) / "lecture.mp4")
    settle(instance)
    (recording,) = demo.recordings()
    assert recording["status"] == "UPLOADED"
    return recording


def backfill(instance: DagsterInstance, partition_key: str) -> bool:
    """What a UI backfill of `transcript` and everything downstream runs for one partition."""
    result = defs.resolve_job_def("recording_pipeline").execute_in_process(
        partition_key=partition_key, asset_selection=DOWNSTREAM_OF_TRANSCRIPT, instance=instance,
        tags={"dagster/backfill": "test-backfill"}, raise_on_error=False)
    return result.success


def failing_work(_: StageInput) -> StageOutput:
    raise StageError("transcribe", "the larger model ran out of memory")


@pytest.mark.slow
def test_a_transcript_backfill_over_an_uploaded_recording_regenerates_in_place_and_uploads_nothing(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    recording = uploaded_recording(demo, instance)

    assert backfill(instance, recording["partition_key"])

    after = demo.recording(recording["id"])
    assert after["status"] == "UPLOADED"
    assert after["targets"][0]["video_id"] == recording["targets"][0]["video_id"]
    stages = [(s["stage"], s["status"]) for s in demo.stages(recording["id"])]
    assert stages[6:] == [("transcribe", "completed"), ("topics", "completed"), ("subtitles", "completed"),
                          ("upload:local", "completed")]  # the export folder refreshed, not uploaded again
    assert len(demo.activity(action="target.upload")) == 1
    assert {e["details"]["stage"] for e in demo.activity(action="recording.reprocess")} == {
        "transcribe", "topics", "subtitles"}
    assert len(instance.fetch_materializations(AssetKey("transcript"), limit=10).records) == 2
    with demo.leap.db.session() as session:
        first, again = [r for r in stages_of(session, [recording["id"]]) if r.stage == "transcribe"]
        assert again.details["reprocess"] is True
        assert again.details["previous"] == first.details


def test_a_failed_reprocess_fails_only_its_stage_row_and_the_recording_stays_uploaded(
    demo: UserAPI, tmp_path: Path
) -> None:
    (recording_id,) = register_many(demo, 1)
    force_status(demo, [recording_id], RecordingStatus.UPLOADED)

    with pytest.raises(StageError):
        demo.leap.pipeline.stages.run(recording_id, TRANSCRIBE, failing_work, "backfill-run")

    assert demo.recording(recording_id)["status"] == "UPLOADED"
    assert [(s["stage"], s["status"]) for s in demo.stages(recording_id)] == [("transcribe", "failed")]


def test_a_stage_still_refuses_a_recording_that_has_not_reached_it(demo: UserAPI) -> None:
    (recording_id,) = register_many(demo, 1)
    force_status(demo, [recording_id], RecordingStatus.DOWNLOADED)

    with pytest.raises(InvalidTransitionError, match="starts from PROCESSED"):
        demo.leap.pipeline.stages.run(recording_id, TRANSCRIBE, failing_work, "run")
    assert demo.recording(recording_id)["status"] == "DOWNLOADED"
