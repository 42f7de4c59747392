"""The integrity gate inside the real transcribe stage, on generated media (issue 20's measure, in small).

The local case runs LEAP's default path end to end: the bundled Whisper, the Silero VAD and the gate, on a
held-out voice with a silent break and music between its two parts (bench/integrity.py measures the full
10-minute break). The cut-short case injects the decoder failure at the network edge: a fake OpenAI-
compatible server on 127.0.0.1 that answers the first upload with a transcript ending early, HTTP 200 and
no warning; the stage has to notice by the VAD and repair it by re-transcribing only what was lost. The drill
case is a lecture that really repeats its sentences (dictation, language drills): over a 30 s window it
compresses like a decoder loop, and the gate has to repair it in short clips rather than lose it. It is
read by a tuning voice; bench/integrity.py --drills judges the same repair on held-out and fresh voices.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leap_core.config import Settings
from leap_core.errors import StageError
from leap_core.pipeline import work
from leap_core.speech import gate
from leap_core.speech.accuracy import word_error_rate
from leap_core.speech.gate import read_speech
from leap_core.speech.transcript import Transcript
from tests.core.speech.fake_openai import FakeOpenAI, fake_openai
from tests.fixtures.media import Lecture, LectureSpec, make_lecture
from tests.fixtures.nonspeech import BreakLecture, BreakSpec, cues_inside, make_break_lecture, stage_input
from tests.fixtures.voices import JUDGING_TEXT, NATURAL_JUDGING, TUNING, TUNING_TEXT, flite_available, speak

SENTENCES = tuple(f"This is sentence number {n} of a lecture about the integrity gate." for n in range(6))
STOPS_AT_S = 12.0
STOPS_EVERY_CLIP_AT_S = 1.0
"""A decoder that gives up one second into every upload: the gate's short clips (at most 10 s) cannot mend
it, where one stopping at STOPS_AT_S on every upload is mended clip by clip."""
DRILL_TIMES = 8
DRILL = " ".join([s.strip() + "." for s in TUNING_TEXT.split(".") if s.strip()][0:2] * DRILL_TIMES)
"""Two sentences read eight times by a tuning voice (40 s): the decoder drops it all as a loop without short
clips (25 % covered, or nothing), and covers 100 % with them."""


@pytest.fixture(scope="module")
def break_lecture() -> BreakLecture:
    if not flite_available():
        pytest.skip("Flite is not installed (scripts/test installs it)")
    said = [s.strip() + "." for s in JUDGING_TEXT.split(".") if s.strip()]
    return make_break_lecture(BreakSpec(NATURAL_JUDGING[2], " ".join(said[1:3]), " ".join(said[5:7]),
                                        pause_s=40.0, pause="room", filler_s=20.0, filler="music"))


@pytest.fixture(scope="module")
def spoken() -> Lecture:
    return make_lecture(LectureSpec(sentences=SENTENCES, gap=0.8, video=False, extension="m4a"))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    with fake_openai() as state:
        yield state


def _stored(root: Path) -> Transcript:
    return Transcript.model_validate_json((root / "transcript.json").read_text())


def test_a_break_of_room_tone_and_music_gets_no_cue_and_the_speech_is_covered(
    break_lecture: BreakLecture, tmp_path: Path
) -> None:
    output = work.transcribe(stage_input(tmp_path, break_lecture.path, Settings()))

    assert cues_inside(_stored(tmp_path), break_lecture.non_speech) == []
    assert output.metadata["coverage_pct"] >= 98.0 and output.metadata["integrity"]["passed"]
    assert read_speech(tmp_path / "speech.json")[-1][1] == pytest.approx(break_lecture.speech[-1][1], abs=1.0)


def test_a_transcript_cut_short_by_the_decoder_is_detected_and_repaired(
    server: FakeOpenAI, spoken: Lecture, tmp_path: Path
) -> None:
    server.stop_after_s = STOPS_AT_S
    settings = Settings(transcriber="openai", openai_base_url=server.base_url)

    output = work.transcribe(stage_input(tmp_path, spoken.path, settings))

    whole, gap = server.transcriptions()
    assert whole.audio_seconds == pytest.approx(spoken.duration, abs=0.2)
    assert output.metadata["repaired_spans"] == 1 and output.metadata["coverage_pct"] >= 98.0
    repaired = output.metadata["integrity"]["repaired"][0]
    assert repaired[0] == pytest.approx(STOPS_AT_S - 0.2, abs=0.6)
    assert repaired[1] == pytest.approx(spoken.speech_end, abs=0.6)
    assert gap.audio_seconds == pytest.approx(repaired[1] - repaired[0] + 0.5, abs=0.2)
    assert _stored(tmp_path).segments[-1].end >= spoken.speech_end - 1.0


def test_a_decoder_that_keeps_stopping_early_fails_the_stage_with_the_coverage(
    server: FakeOpenAI, spoken: Lecture, tmp_path: Path
) -> None:
    server.stop_after_s, server.stop_calls = STOPS_EVERY_CLIP_AT_S, 99
    settings = Settings(transcriber="openai", openai_base_url=server.base_url)

    with pytest.raises(StageError, match=r"integrity gate failed after repair: cues cover \d+\.\d % of"):
        work.transcribe(stage_input(tmp_path, spoken.path, settings))
    assert not (tmp_path / "transcript.json").exists()
    assert 3 <= len(server.transcriptions()) <= 2 + 8


def test_a_decoder_stopping_early_on_every_upload_is_mended_in_short_clips(
    server: FakeOpenAI, spoken: Lecture, tmp_path: Path
) -> None:
    server.stop_after_s, server.stop_calls = STOPS_AT_S, 99
    settings = Settings(transcriber="openai", openai_base_url=server.base_url)

    output = work.transcribe(stage_input(tmp_path, spoken.path, settings))

    assert output.metadata["coverage_pct"] >= 98.0 and output.metadata["repaired_spans"] >= 2
    assert max(r.audio_seconds for r in server.transcriptions()[2:]) <= 10.0 + 0.6


def test_a_lecture_that_repeats_its_sentences_keeps_every_repetition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drill = speak(TUNING[1], DRILL)
    with monkeypatch.context() as whole_gaps_only:
        whole_gaps_only.setattr(gate, "MAX_SHORT_CLIPS", 0)
        with pytest.raises(StageError, match=r"integrity gate failed after repair|no speech was recognised"):
            work.transcribe(stage_input(tmp_path / "before", drill.path, Settings()))

    output = work.transcribe(stage_input(tmp_path / "after", drill.path, Settings()))

    heard = _stored(tmp_path / "after")
    assert output.metadata["integrity"]["passed"] and output.metadata["coverage_pct"] >= 98.0
    assert output.metadata["repaired_spans"] >= 2
    assert heard.segments[-1].end >= drill.duration - 3.0
    assert word_error_rate(DRILL, heard.text) <= 0.25
    assert heard.text.lower().count("algebra") >= DRILL_TIMES - 1
