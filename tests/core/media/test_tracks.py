"""Recordings with several audio tracks (OBS: desktop and microphone apart): the speech is found on
whichever track holds it, tracks with speech are mixed, and the choice is in the metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from leap_core.media.probe import probe
from leap_core.media.speech import detect_speech
from leap_core.media.trim import TrimConfig, trim
from tests.fixtures.media import LectureSpec, make_lecture

CONFIG = TrimConfig(blank_min_speech_s=3.0, min_duration_s=1.0)


@pytest.mark.parametrize("mode", ["head_tail", "pauses"])
def test_speech_on_the_second_track_only_is_found_and_kept(mode: str, tmp_path: Path) -> None:
    lecture = make_lecture(LectureSpec(tracks=("noise", "speech")))
    assert probe(lecture.path).audio_tracks == 2
    result = trim(lecture.path, tmp_path / "out.mp4", CONFIG.model_copy(update={"mode": mode}))
    assert result.status == "ok"
    data = result.to_dict()
    assert data["audio_tracks_used"] == [2]
    assert "speech on track 2 only" in str(data["audio_track_reason"])
    assert result.speech_start == pytest.approx(lecture.speech_start, abs=0.3)
    assert result.speech_end == pytest.approx(lecture.speech_end, abs=0.3)
    assert result.output_path is not None
    heard = detect_speech(result.output_path, result.output_duration)
    assert heard.speech_seconds >= 0.8 * sum(e - s for s, e in lecture.speech_spans)


def test_speech_on_both_tracks_is_mixed(tmp_path: Path) -> None:
    lecture = make_lecture(LectureSpec(tracks=("speech", "speech")))
    result = trim(lecture.path, tmp_path / "out.mp4", CONFIG)
    data = result.to_dict()
    assert result.status == "ok"
    assert data["audio_tracks_used"] == [1, 2]
    assert "mixed" in str(data["audio_track_reason"])
    assert result.output_path is not None
    assert len(probe(result.output_path).to_dict()) and probe(result.output_path).audio_tracks == 1
    heard = detect_speech(result.output_path, result.output_duration)
    assert heard.speech_seconds >= 0.8 * sum(e - s for s, e in lecture.speech_spans)


def test_no_track_with_speech_is_blank_and_says_so(tmp_path: Path) -> None:
    lecture = make_lecture(LectureSpec(tracks=("noise", "noise")))
    result = trim(lecture.path, tmp_path / "out.mp4", CONFIG)
    assert result.status == "blank"
    assert "no audio track carries speech" in str(result.to_dict()["audio_track_reason"])
