"""The integrity gate's repair loop: a transcript cut short is detected and its lost speech re-transcribed.

The decoder failure is injected in a test double for the *model* (a transcriber that stops after its first
segment on the whole file, as faster-whisper does when it silently gives up); the gap clip is cut by real
ffmpeg from a generated file, so LEAP's own repair code runs unmocked.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from leap_core.media.ffmpeg import ffmpeg_binary
from leap_core.speech.gate import apply_gate, at_pauses, read_speech, uncovered, write_speech
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


def _tone(path: Path) -> Path:
    subprocess.run([ffmpeg_binary(), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=20", "-ac", "1", "-ar", "16000", str(path)], check=True)
    return path


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
