"""Subtitle rules as properties: they hold for any transcript, and the timing ones for any human pace."""

from __future__ import annotations

import itertools
from pathlib import Path

import srt
import webvtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leap_core.speech.subtitles import (
    MAX_CPS,
    MAX_LINE,
    MAX_SECONDS,
    MIN_SECONDS,
    Cue,
    build_cues,
    wrap,
    write_srt,
    write_vtt,
)
from leap_core.speech.transcript import Segment, Transcript, Word

TOKENS = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N")), min_size=1, max_size=14)
PUNCT = st.sampled_from(["", "", "", ",", ".", "?"])


@st.composite
def paced_transcripts(draw: st.DrawFn, max_cps: float = 18.0) -> Transcript:
    """Speech no faster than `max_cps` characters per second (people speak ~12-15), with natural pauses."""
    words: list[Word] = []
    clock = draw(st.floats(0, 5))
    for _ in range(draw(st.integers(1, 120))):
        text = draw(TOKENS) + draw(PUNCT)
        rate = draw(st.floats(6.0, max_cps))
        seconds = (len(text) + 1) / rate
        words.append(Word(start=clock, end=clock + seconds, text=text))
        clock += seconds + draw(st.sampled_from([0.0, 0.0, 0.0, 0.1, 0.4, 1.5, 4.0]))
    # Trimming keeps a little room after the last word; a cue needs at least a second of it.
    return _as_segments(words, duration=clock + draw(st.floats(1, 3)), with_words=draw(st.booleans()))


@st.composite
def any_transcripts(draw: st.DrawFn) -> Transcript:
    """No promise about pace: words may be instantaneous, overlapping or absurdly long."""
    words = []
    for _ in range(draw(st.integers(0, 80))):
        start = draw(st.floats(0, 300))
        words.append(Word(start=start, end=start + draw(st.floats(0, 12)), text=draw(st.text(min_size=1, max_size=60))))
    words.sort(key=lambda w: w.start)
    duration = max((w.end for w in words), default=0.0) + draw(st.floats(0, 2))
    return _as_segments(words, duration=duration, with_words=draw(st.booleans()))


def _as_segments(words: list[Word], duration: float, with_words: bool) -> Transcript:
    words = [w for w in words if w.text.strip()]
    segments = [
        Segment(
            start=group[0].start,
            end=max(w.end for w in group),
            text=" ".join(w.text for w in group),
            words=group if with_words else [],
        )
        for group in (words[i : i + 7] for i in range(0, len(words), 7))
    ]
    return Transcript(language="en", duration=duration, backend="test", model="test", segments=segments)


def _words(transcript: Transcript) -> list[str]:
    return " ".join(s.text for s in transcript.segments).split()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_transcripts())
def test_cues_never_exceed_two_lines_of_42_characters_or_overlap(transcript: Transcript) -> None:
    cues = build_cues(transcript)
    assert all(1 <= len(c.lines) <= 2 and all(len(line) <= MAX_LINE for line in c.lines) for c in cues)
    assert all(c.end > c.start and c.end - c.start <= MAX_SECONDS + 1e-6 for c in cues)
    assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(cues))


@settings(max_examples=150, deadline=None)
@given(paced_transcripts())
def test_every_word_is_shown_once_in_order(transcript: Transcript) -> None:
    shown = "".join(" ".join(c.lines) for c in build_cues(transcript)).replace(" ", "")
    assert shown == "".join(_words(transcript))


@settings(max_examples=150, deadline=None)
@given(any_transcripts())
def test_whatever_the_timing_no_word_is_invented_or_reordered(transcript: Transcript) -> None:
    spoken, position = "".join(_words(transcript)), 0
    for cue in build_cues(transcript):
        found = spoken.find(cue.text.replace(" ", ""), position)
        assert found >= position
        position = found + len(cue.text.replace(" ", ""))


@settings(max_examples=200, deadline=None)
@given(paced_transcripts())
def test_at_human_pace_cues_last_one_to_seven_seconds_and_read_at_most_21_cps(transcript: Transcript) -> None:
    for cue in build_cues(transcript):
        seconds = cue.end - cue.start
        assert MIN_SECONDS - 1e-6 <= seconds <= MAX_SECONDS + 1e-6
        assert len(cue.text) / seconds <= MAX_CPS + 1e-6
        assert cue.end <= transcript.duration + 1e-6


def test_a_line_breaks_after_a_sentence_rather_than_in_the_middle_of_one() -> None:
    lines = wrap(["That", "is", "the", "first", "idea.", "Now", "the", "second", "idea", "has", "more", "words"])
    assert lines == ("That is the first idea.", "Now the second idea has more words")


def test_a_line_does_not_end_on_an_article() -> None:
    lines = wrap(
        [
            "we",
            "multiply",
            "the",
            "matrix",
            "by",
            "the",
            "vector",
            "on",
            "its",
            "right",
            "hand",
            "side",
            "today",
        ]
    )
    assert lines is not None
    assert lines[0].split()[-1] not in {"the", "a", "by", "on"}


def test_a_new_sentence_starts_a_new_cue_when_there_is_time_for_both() -> None:
    words = [
        Word(start=i * 0.4, end=i * 0.4 + 0.35, text=t)
        for i, t in enumerate(["This", "is", "one", "sentence.", "And", "here", "comes", "another", "one."])
    ]
    transcript = Transcript(
        language="en",
        duration=10,
        backend="t",
        model="t",
        segments=[Segment(start=0, end=words[-1].end, text="", words=words)],
    )
    assert [c.text for c in build_cues(transcript)] == [
        "This is one sentence.",
        "And here comes another one.",
    ]


def test_srt_and_vtt_files_parse_with_standard_libraries(tmp_path: Path) -> None:
    cues = [
        Cue(0.5, 2.0, ("Hello, students.",)),
        Cue(2.0, 5.25, ("A matrix times a vector", "gives a vector.")),
    ]
    srt_path = write_srt(cues, tmp_path / "out" / "subtitles.srt")
    vtt_path = write_vtt(cues, tmp_path / "out" / "subtitles.vtt")
    parsed = list(srt.parse(srt_path.read_text()))
    assert [p.content for p in parsed] == ["Hello, students.", "A matrix times a vector\ngives a vector."]
    assert parsed[1].end.total_seconds() == 5.25
    captions = webvtt.read(str(vtt_path)).captions
    assert [(c.start, c.end) for c in captions] == [
        ("00:00:00.500", "00:00:02.000"),
        ("00:00:02.000", "00:00:05.250"),
    ]
    assert captions[1].text == "A matrix times a vector\ngives a vector."
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["subtitles.srt", "subtitles.vtt"]


def test_subtitles_from_real_speech_parse_and_stay_within_the_recording(
    local_transcript: Transcript, tmp_path: Path
) -> None:
    cues = build_cues(local_transcript)
    write_vtt(cues, tmp_path / "s.vtt")
    write_srt(cues, tmp_path / "s.srt")
    assert (
        len(webvtt.read(str(tmp_path / "s.vtt")).captions)
        == len(cues)
        == len(list(srt.parse((tmp_path / "s.srt").read_text())))
    )
    assert cues[-1].end <= local_transcript.duration
