"""The integrity gate's repair loop: a transcript cut short is detected and its lost speech re-transcribed.

The decoder failure is injected in a test double for the *model* (a transcriber that stops after its first
segment on the whole file, as faster-whisper does when it silently gives up); the gap clip is cut by real
ffmpeg from a generated file, so LEAP's own repair code runs unmocked.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import pytest

from leap_core.media.ffmpeg import ffmpeg_binary
from leap_core.speech import gate
from leap_core.speech.gate import apply_gate, at_pauses, read_speech, short_clips, snapped, uncovered, write_speech
from leap_core.speech.transcript import Segment, Transcript, Word

SPEECH = [(0.0, 8.0), (12.0, 20.0)]


def _transcript(segments: list[Segment], duration: float = 20.0) -> Transcript:
    return Transcript(language="en", duration=duration, backend="test", model="stops-early", segments=segments)


class StopsAfterOneSegment:
    """Whole file: one segment, then nothing (a cut-short decode). A short clip: one segment over all of it."""

    def __init__(self) -> None:
        self.calls: list[Path] = []

    def transcribe(self, audio: Path, *, work_dir: Path) -> Transcript:
        self.calls.append(audio)
        if len(self.calls) == 1:
            return _transcript([Segment(start=0.0, end=8.0, text="We start with the index.")])
        return _transcript([Segment(start=0.0, end=8.4, text="And then the join is planned.")], 8.5)


class LoopsOnLongClips:
    """A drill lecture's decode: on any clip over 12 s the model loops (one sentence heard over and over,
    which the gate must distrust); a short clip it reads as one sentence over the whole clip."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def transcribe(self, audio: Path, *, work_dir: Path) -> Transcript:
        with av.open(str(audio)) as media:
            seconds = float(media.duration or 0) / av.time_base
        self.seconds.append(seconds)
        text = "Repeat after me. " * 12 if seconds > 12.0 else "Repeat after me, the index is planned."
        return _transcript([Segment(start=0.1, end=seconds - 0.3, text=text.strip())], seconds)


def _tone(path: Path, seconds: float = 20.0) -> Path:
    subprocess.run([ffmpeg_binary(), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={seconds:g}", "-ac", "1", "-ar", "16000", str(path)], check=True)
    return path


DRILL_SPEECH = [(float(4 * k), 4 * k + 3.2) for k in range(10)]
"""Forty seconds of a drill: ten 3.2 s sentences with 0.8 s pauses, one 39.2 s gap for the whole-gap repair
and five clips of two sentences for the short ones."""


def test_a_transcript_cut_short_is_detected_and_repaired(tmp_path: Path) -> None:
    model = StopsAfterOneSegment()
    heard = model.transcribe(tmp_path / "unused.wav", work_dir=tmp_path)

    unrepaired = apply_gate(heard, SPEECH)
    repaired = apply_gate(heard, SPEECH, media=_tone(tmp_path / "lecture.wav"), transcriber=model,
                          work_dir=tmp_path / "work")

    assert not unrepaired.report.passed and unrepaired.report.coverage_pct == 50.0
    assert unrepaired.report.reason().startswith("cues cover 50.0 %")
    assert repaired.repaired == [(12.0, 20.0)]
    assert repaired.report.passed and repaired.report.coverage_pct >= 98.0
    assert [s.text for s in repaired.transcript.segments][-1] == "And then the join is planned."
    assert repaired.transcript.segments[-1].start == 11.75
    assert repaired.metadata()["repaired_spans"] == 1


def test_segments_over_non_speech_are_dropped_and_not_repaired_into_silence(tmp_path: Path) -> None:
    heard = _transcript([Segment(start=0.0, end=8.0, text="We start with the index."),
                         Segment(start=8.5, end=11.5, text="Thanks for watching!"),
                         Segment(start=12.0, end=20.0, text="And then the join is planned.")])

    gated = apply_gate(heard, SPEECH)

    assert [d.reason for d in gated.report.dropped] == ["non-speech"]
    assert len(gated.transcript.segments) == 2 and gated.report.passed


def test_uncovered_speech_and_the_stored_spans() -> None:
    segments = [Segment(start=0.0, end=3.0, text="a"), Segment(start=3.5, end=8.0, text="b")]
    assert uncovered(segments, SPEECH) == [(12.0, 20.0)]


def test_speech_after_a_decoder_stopped_is_one_gap_until_a_segment_separates_it() -> None:
    speech = [(0.0, 9.0), (10.0, 14.0), (15.0, 20.0), (30.0, 40.0), (100.0, 110.0)]
    segments = [Segment(start=0.0, end=8.5, text="a"), Segment(start=30.0, end=40.0, text="b")]
    assert uncovered(segments, speech) == [(8.5, 20.0), (100.0, 110.0)]


def test_a_segment_spanning_a_break_is_split_at_its_words_pause() -> None:
    words = [Word(start=1.0, end=1.5, text="Good"), Word(start=1.5, end=2.0, text="morning."),
             Word(start=111.6, end=112.0, text="We"), Word(start=112.0, end=112.6, text="keep.")]
    spanning = Segment(start=0.7, end=112.6, text="Good morning. We keep.", words=words)

    first, second = at_pauses(spanning)
    gated = apply_gate(_transcript([spanning], 120.0), [(1.0, 2.0), (111.5, 112.6)])

    assert (first.start, first.end, first.text) == (0.7, 2.5, "Good morning.")
    assert (second.start, second.end, second.text) == (111.1, 112.6, "We keep.")
    assert not gated.report.dropped and gated.report.passed and len(gated.transcript.segments) == 2


def test_speech_spans_round_trip(tmp_path: Path) -> None:
    write_speech(tmp_path / "speech.json", SPEECH)
    assert read_speech(tmp_path / "speech.json") == SPEECH


def test_speech_inside_a_gap_is_cut_into_short_clips_at_the_vads_pauses() -> None:
    speech = [(0.0, 3.0), (4.0, 7.0), (8.0, 11.0), (20.0, 45.0), (50.0, 52.0)]

    clips = short_clips((1.0, 51.0), speech)

    assert [(round(s, 2), round(e, 2)) for s, e in clips] == [(1.0, 11.0), (20.0, 28.33), (28.33, 36.67),
                                                              (36.67, 45.0), (50.0, 51.0)]
    assert short_clips((1.0, 51.0), speech, longest=5.0)[:2] == [(1.0, 3.0), (4.0, 7.0)]
    assert short_clips((12.0, 19.0), speech) == []


def test_a_re_transcribed_clip_reaches_its_speech_bounds_only_when_it_stops_close_to_them() -> None:
    near = [Segment(start=10.3, end=12.0, text="a"), Segment(start=12.0, end=19.6, text="b")]
    far = [Segment(start=11.0, end=19.0, text="a")]
    early = [Segment(start=9.8, end=19.8, text="a")]

    assert [(s.start, s.end) for s in snapped(near, (10.0, 20.0))] == [(10.0, 12.0), (12.0, 20.0)]
    assert [(s.start, s.end) for s in snapped(far, (10.0, 20.0))] == [(11.0, 19.0)]
    assert [(s.start, s.end) for s in snapped(early, (10.0, 20.0))] == [(9.8, 20.0)]
    assert snapped([], (10.0, 20.0)) == []


def test_a_lecture_that_repeats_its_sentences_is_repaired_in_short_clips(tmp_path: Path) -> None:
    model = LoopsOnLongClips()
    heard = _transcript([Segment(start=0.0, end=40.0, text="Repeat after me. " * 40)], 40.0)

    gated = apply_gate(heard, DRILL_SPEECH, media=_tone(tmp_path / "drill.wav", 40.0), transcriber=model,
                       work_dir=tmp_path / "work")

    assert gated.report.passed and gated.report.coverage_pct >= 98.0
    assert [round(s) for s in model.seconds] == [39, 7, 8, 8, 8, 8]
    assert gated.repaired == [(0.0, 7.2), (8.0, 15.2), (16.0, 23.2), (24.0, 31.2), (32.0, 39.2)]
    assert [(round(s.start, 2), round(s.end, 2)) for s in gated.transcript.segments][:2] == [(0.0, 7.2),
                                                                                              (7.85, 15.2)]
    assert not list((tmp_path / "work").iterdir())


def test_short_clips_stop_at_their_budget_and_the_gate_reports_the_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate, "MAX_SHORT_CLIPS", 4)
    model = LoopsOnLongClips()
    heard = _transcript([Segment(start=0.0, end=40.0, text="Repeat after me. " * 40)], 40.0)

    gated = apply_gate(heard, DRILL_SPEECH, media=_tone(tmp_path / "drill.wav", 40.0), transcriber=model,
                       work_dir=tmp_path / "work")

    assert not gated.report.passed and gated.report.coverage_pct == 0.0
    assert [round(s) for s in model.seconds] == [39] and gated.repaired == []
