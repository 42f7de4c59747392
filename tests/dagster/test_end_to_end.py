"""A file dropped into the inbox comes out exported, transcribed and subtitled, with no further action."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from leap_core.api import UserAPI
from tests.fixtures.media import make_lecture
from tests.support.dagster import settle

ASSETS = ["raw_video", "trimmed_video", "transcript", "topics", "subtitles", "exported_video"]


def inbox_of(demo: UserAPI) -> Path:
    return Path(demo.sources()[0]["path"])


def test_a_dropped_lecture_is_exported_transcribed_and_subtitled(demo: UserAPI, instance: DagsterInstance) -> None:
    lecture = make_lecture()
    shutil.copy(lecture.path, inbox_of(demo) / "Linear Algebra \u2014 week 1.mp4")

    runs = settle(instance)

    assert [r.success for r in runs] == [True]
    (recording,) = demo.recordings()
    assert recording["status"] == "UPLOADED"
    assert recording["partition_key"] in instance.get_dynamic_partitions("recordings")
    assert recording["partition_key"].endswith(recording["id"][-8:].lower())
    stages = demo.stages(recording["id"])
    assert [(s["stage"], s["status"]) for s in stages] == [
        ("download", "completed"), ("trim", "completed"), ("transcribe", "completed"),
        ("topics", "completed"), ("subtitles", "completed"), ("upload:local", "completed"),
    ]
    for name in ASSETS:
        event = instance.get_latest_materialization_event(AssetKey(name))
        assert event is not None, name
    trim_metadata = instance.get_latest_materialization_event(AssetKey("trimmed_video")).asset_materialization.metadata  # type: ignore[union-attr]
    assert trim_metadata["speech_start"].value < lecture.speech_start + 0.5

    export = Path(recording["targets"][0]["video_id"])
    folder = demo.leap.settings.resolved_export_dir / export
    assert {p.name for p in folder.iterdir()} >= {
        "video.mp4", "subtitles.srt", "subtitles.vtt", "transcript.json", "topics.json", "metadata.json"}
    transcript = json.loads((folder / "transcript.json").read_text())
    said = " ".join(s["text"] for s in transcript["segments"]).lower()
    assert "linear algebra" in said and "matrix" in said
    actions = {e["action"] for e in demo.activity()}
    assert {"recording.create", "recording.source_complete", "target.upload"} <= actions
    settings = demo.leap.settings
    roots = (settings.resolved_storage_dir / "demo", settings.resolved_export_dir / "demo")
    stored = sum(p.stat().st_size for root in roots for p in root.rglob("*") if p.is_file())  # export copy too
    usage = demo.usage()
    assert usage["storage_bytes"] == stored
    assert usage["transcription_seconds"] == pytest.approx(trim_metadata["output_duration"].value, abs=0.01)


def test_a_corrupt_file_fails_at_its_stage_without_touching_others_and_its_replacement_comes_in_anew(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    inbox = inbox_of(demo)
    (inbox / "broken.mp4").write_bytes(b"this is not a video at all" * 100)
    shutil.copy(make_lecture().path, inbox / "good.mp4")

    settle(instance)

    by_title = {r["title"]: r for r in demo.recordings()}
    broken, good = by_title["broken"], by_title["good"]
    assert good["status"] == "UPLOADED"
    assert (broken["status"], broken["failed_at_stage"]) == ("FAILED", "download")
    assert "not" in broken["error"] and "Traceback" not in broken["error"]
    assert {e["action"] for e in demo.activity(action="recording.fail")} == {"recording.fail"}

    shutil.copy(make_lecture().path, inbox / "broken.mp4")  # the right file, under the same name (ADR 0025)
    settle(instance)

    (fixed,) = [r for r in demo.recordings() if r["title"] == "broken" and r["id"] != broken["id"]]
    assert demo.recording(fixed["id"])["status"] == "UPLOADED"
    assert demo.recording(broken["id"])["status"] == "FAILED"  # kept as it was, with its history
    (changed,) = demo.activity(action="recording.source_changed")
    assert (changed["resource_id"], changed["details"]["new_recording"]) == (broken["id"], fixed["id"])
    assert demo.recording(good["id"])["status"] == "UPLOADED"
