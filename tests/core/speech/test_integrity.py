"""The integrity gate's rules on cues and VAD speech spans: non-speech, loops, boilerplate, coverage, the end."""

from __future__ import annotations

from leap_core.speech.integrity import check, is_boilerplate, repeats_itself
from leap_core.speech.subtitles import Cue


def cue(start: float, end: float, text: str) -> Cue:
    return Cue(start, end, (text,))


SPEECH = [(0.0, 60.0), (660.0, 720.0)]
"""A lecture with a 10-minute silent break between two minutes of speech."""


def test_cues_inside_non_speech_are_dropped_and_the_speech_is_covered() -> None:
    cues = [cue(s, s + 5, f"Sentence number {i} about indexes.") for i, s in enumerate(range(0, 60, 5))]
    cues += [cue(300, 304, "Thank you."), cue(400, 405, "Music playing softly in the break")]
    cues += [cue(s, s + 5, f"Part two, sentence {i} on joins.") for i, s in enumerate(range(660, 720, 5))]

    report = check(cues, SPEECH, "en")

    assert [d.reason for d in report.dropped] == ["non-speech", "non-speech"]
    assert all(not 60 < c.start < 660 for c in report.kept)
    assert report.coverage_pct == 100.0 and report.ends_with_the_speech and report.passed
    assert report.metadata()["dropped_cues"] == 2


def test_repeat_loops_and_boilerplate_are_dropped_per_language() -> None:
    cues = [cue(0, 5, "We define the index."), cue(5, 10, "the the the the"),
            cue(10, 15, "and then we and then we and then we"), cue(15, 20, "Thanks for watching!"),
            cue(20, 25, "Продолжение следует..."), cue(25, 30, "This is the end of the proof.")]

    english = check(cues, [(0, 30)], "en")
    russian = check(cues, [(0, 30)], "ru")

    assert [d.reason for d in english.dropped] == ["repeat loop", "repeat loop", "boilerplate"]
    assert "Продолжение следует..." in [c.text for c in english.kept]
    assert "Продолжение следует..." in [d.text for d in russian.dropped]
    assert not is_boilerplate("Thanks for watching the first proof closely", "en")


def test_ordinary_sentences_are_not_loops() -> None:
    assert not repeats_itself("A B-tree node splits when it is full, and the parent gains a key.")
    assert not repeats_itself("Very, very important: read the chapter.")
    assert repeats_itself("so so so")
    assert repeats_itself("ok " * 30)


def test_a_transcript_cut_short_is_caught() -> None:
    speech = [(0.0, 6300.0)]  # 1 h 45 min of speech
    cues = [cue(s, s + 5, f"Words {s}.") for s in range(0, 360, 5)]  # transcribed to 6 minutes

    report = check(cues, speech, "en")

    assert not report.ends_with_the_speech and report.coverage_pct < 10 and not report.passed
    assert report.metadata()["last_cue_end_s"] == 360


def test_no_speech_at_all_is_trivially_covered() -> None:
    report = check([], [], "en")
    assert report.passed and report.coverage_pct == 100.0
