"""The review hold through real Dagster runs: held before publishing, corrected, approved, published once."""

from __future__ import annotations

import shutil
from pathlib import Path

from dagster import DagsterInstance

from leap_core.api import UserAPI
from leap_core.errors import InvalidTransitionError, ValidationError
from leap_core.speech.transcript import Transcript
from tests.fixtures.media import make_lecture
from tests.support.dagster import settle

CORRECTED = ("WEBVTT\n\n00:00.500 --> 00:04.000\nWelcome to Linear Algebra, week one.\n\n"
             "00:04.500 --> 00:09.000\nA matrix maps vectors to vectors.\n")


def test_a_held_lecture_waits_is_corrected_then_published_once_with_the_correction(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    (template,) = demo.templates_api.list()
    demo.templates_api.update(template["name"], review={"mode": "always"})
    inbox = Path(demo.sources()[0]["path"])
    shutil.copy(make_lecture().path, inbox / "week 1.mp4")

    assert [r.success for r in settle(instance)] == [True]  # holding is not a failure

    (recording,) = demo.recordings()
    rid = recording["id"]
    assert (recording["status"], recording["review_reason"]) == (
        "TRANSCRIBED", "the template holds every recording for review")
    assert [t["status"] for t in demo.recording(rid)["targets"]] == ["NOT_UPLOADED"]
    export = demo.leap.settings.resolved_export_dir / "demo" / rid
    assert not export.exists()
    assert any(n["type"] == "recording.review" for n in demo.notifications.list())
    seen = demo.review(rid)
    assert seen["held"] and seen["cues"] == []  # "always" holds with nothing flagged

    try:
        demo.edit(rid, b"WEBVTT\n\n00:00.000 --> 09:00:00.000\nfar too long\n", "bad.vtt")
    except ValidationError as exc:
        assert "after the" in str(exc)
    else:
        raise AssertionError("a cue past the recording's end must be refused")
    edited = demo.edit(rid, CORRECTED.encode(), "fixed.vtt")
    assert (edited["segments"], edited["held"]) == (2, True)
    settle(instance)  # topics and subtitles rebuilt from the correction; still held

    after_edit = demo.recording(rid)
    assert (after_edit["status"], after_edit["targets"][0]["status"]) == ("TRANSCRIBED", "NOT_UPLOADED")
    storage = demo.leap.settings.resolved_storage_dir / "demo" / rid
    assert "A matrix maps vectors to vectors." in (storage / "subtitles.vtt").read_text()
    machine = Transcript.model_validate_json((storage / "transcript.machine.json").read_text())  # kept
    assert machine.segments and all(0 < (s.confidence or 0) <= 1 for s in machine.segments)  # what "flagged" reads

    assert demo.approve([rid])["done"] == [rid]
    settle(instance)

    published = demo.recording(rid)
    assert (published["status"], published["review_reason"]) == ("UPLOADED", None)
    assert "A matrix maps vectors to vectors." in (export / "subtitles.vtt").read_text()
    assert demo.approve([rid])["refused"] == {rid: "not held for review (recording is UPLOADED)"}
    actions = [e["action"] for e in demo.activity(action="recording.*")]
    assert {"recording.hold", "recording.edit", "recording.approve"} <= set(actions)
    assert actions.count("recording.hold") == 1
    assert [e["action"] for e in demo.activity(action="target.upload")] == ["target.upload"]

    demo.edit(rid, CORRECTED.replace("week one", "week two").encode(), "again.vtt")  # after publishing
    settle(instance)
    assert "week two" in (export / "subtitles.vtt").read_text()  # the published copy is refreshed ...
    assert [e["action"] for e in demo.activity(action="target.upload")] == ["target.upload"]  # ... not re-uploaded
    assert demo.recording(rid)["status"] == "UPLOADED"


def test_editing_is_refused_before_there_is_a_transcript(demo: UserAPI, instance: DagsterInstance) -> None:
    (template,) = demo.templates_api.list()
    demo.templates_api.update(template["name"], process_on_arrival=False)
    inbox = Path(demo.sources()[0]["path"])
    shutil.copy(make_lecture().path, inbox / "later.mp4")
    settle(instance)
    (recording,) = demo.recordings()
    try:
        demo.edit(recording["id"], CORRECTED.encode(), "fixed.vtt")
    except InvalidTransitionError as exc:
        assert "INITIALIZED" in str(exc)
    else:
        raise AssertionError("an unprocessed recording has no transcript to edit")
