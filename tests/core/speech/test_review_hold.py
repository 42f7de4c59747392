"""The review hold's rules and the corrected-transcript reader, without a pipeline (ADR 0042)."""

from __future__ import annotations

import json

import pytest

from leap_core.errors import ValidationError
from leap_core.review import ReviewPolicy, flagged_cues, hold_reason, validate_review
from leap_core.speech.corrections import read_corrections
from leap_core.speech.transcript import Segment, Transcript


def transcript(*confidences: float | None, repaired: list[tuple[float, float]] | None = None) -> Transcript:
    segments = [Segment(start=i * 5.0, end=i * 5.0 + 4, text=f"cue {i}", confidence=c)
                for i, c in enumerate(confidences)]
    return Transcript(language="en", duration=60, backend="local", model="tiny.en", segments=segments,
                      repaired=repaired or [])


def test_off_by_default_and_always_holds_every_transcript() -> None:
    assert validate_review({}) == {"mode": "off", "min_confidence": 0.5, "max_low_cues": 0, "on_repair": True}
    assert hold_reason(transcript(0.1, 0.1), ReviewPolicy()) is None
    assert hold_reason(transcript(0.99), ReviewPolicy(mode="always")) == "the template holds every recording for review"


def test_flagged_holds_on_unsure_cues_above_the_allowance_and_on_a_repair() -> None:
    policy = ReviewPolicy(mode="flagged", min_confidence=0.6, max_low_cues=1)
    assert hold_reason(transcript(0.9, 0.4, None), policy) is None  # one unsure cue is allowed; None is no opinion
    reason = hold_reason(transcript(0.9, 0.4, 0.55), policy)
    assert reason == "2 cue(s) below confidence 0.6 (the template allows 1)"
    repaired = transcript(0.9, 0.9, repaired=[(5.5, 7.0)])
    assert hold_reason(repaired, policy) == "the integrity gate re-transcribed 1 span(s) of speech"
    assert hold_reason(repaired, policy.model_copy(update={"on_repair": False})) is None
    flagged = flagged_cues(transcript(0.9, 0.4, repaired=[(0.5, 1.0)]), policy)
    assert [(f.text, f.why) for f in flagged] == [
        ("cue 0", "re-transcribed by the integrity gate"), ("cue 1", "confidence 0.40 < 0.6")]


def test_an_edited_transcript_is_never_held_again() -> None:
    edited = transcript(0.1).model_copy(update={"edited": True})
    assert hold_reason(edited, ReviewPolicy(mode="always")) is None


@pytest.mark.parametrize("value, words", [
    ({"mode": "sometimes"}, "review setting mode"),
    ({"min_confidence": 2}, "review setting min_confidence"),
    ({"max_low_cues": -1}, "review setting max_low_cues"),
    ({"hold": True}, "review setting hold"),
])
def test_a_bad_review_setting_is_refused_in_one_line(value: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words) as caught:
        validate_review(value)
    assert "\n" not in str(caught.value)


SRT = "1\n00:00:01,000 --> 00:00:03,500\nTwo-phase <i>locking</i>\nkeeps order.\n\n" \
      "2\n00:00:04,000 --> 00:00:06,000\nЛекция окончена.\n"
VTT = "WEBVTT\n\nintro\n00:01.000 --> 00:03.500 align:start\nTwo-phase locking\n\n" \
      "00:00:04.000 --> 00:00:06.000\nЛекция окончена.\n"


@pytest.mark.parametrize("name, text", [("fixed.srt", SRT), ("fixed.vtt", VTT), ("fixed", VTT)])
def test_srt_and_webvtt_become_segments_with_tags_removed(name: str, text: str) -> None:
    segments = read_corrections(text.encode(), name, duration=10)
    assert [(s.start, s.end) for s in segments] == [(1.0, 3.5), (4.0, 6.0)]
    assert segments[0].text.startswith("Two-phase locking") and "<i>" not in segments[0].text
    assert segments[1].text == "Лекция окончена." and segments[1].confidence is None


def test_json_takes_a_transcript_or_a_list_of_segments() -> None:
    listing = [{"start": 0, "end": 2, "text": "hello"}]
    assert read_corrections(json.dumps(listing).encode(), "x.json", 5)[0].text == "hello"
    whole = transcript(0.9).model_dump_json().encode()
    assert read_corrections(whole, "transcript.json", 60)[0].text == "cue 0"


@pytest.mark.parametrize("name, data, words", [
    ("x.srt", b"1\n00:00:01,000 -> nonsense\nhello\n", "not a valid SRT file"),
    ("x.vtt", b"00:01.000 --> 00:02.000\nhello\n", "starts with 'WEBVTT'"),
    ("x.vtt", b"WEBVTT\n\n00:01 --> 00:02.000\nhello\n", "not a WebVTT time"),
    ("x.json", b"{", "not valid JSON"),
    ("x.json", b'[{"start": 1}]', "needs start, end and text"),
    ("x.json", b'[{"start": "a", "end": 2, "text": "t"}]', "must be numbers"),
    ("x.json", b'[{"start": 3, "end": 2, "text": "t"}]', "not a forward time span"),
    ("x.json", b'[{"start": 1, "end": 99, "text": "t"}]', "after the 10.0 s recording"),
    ("x.json", b'[{"start": 5, "end": 6, "text": "a"}, {"start": 1, "end": 2, "text": "b"}]', "before the cue above"),
    ("x.json", b'[{"start": 1, "end": 2, "text": "  "}]', "holds no cue with text"),
    ("x.srt", b"\xff\xfe\x00bad", "not UTF-8"),
])
def test_a_wrong_file_is_refused_with_what_is_wrong(name: str, data: bytes, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        read_corrections(data, name, duration=10)
