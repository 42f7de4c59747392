"""Russian topics and subtitles: inflected words fold to one stem, titles stay in Russian, lines break well."""

from __future__ import annotations

from pathlib import Path

from leap_core.speech.local_topics import LocalTopicExtractor
from leap_core.speech.russian import binds_forward, russian_term
from leap_core.speech.subtitles import MAX_LINE, build_cues
from leap_core.speech.transcript import Segment, Transcript

PARAGRAPHS = Path(__file__).resolve().parents[2].joinpath("fixtures", "russian-topics.txt").read_text(
    encoding="utf-8").split("\n")


def _cyrillic(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all("\u0400" <= c <= "\u04ff" for c in letters)


def _lecture(repeats: int = 4) -> Transcript:
    """Three topics, each ~2 minutes: the paragraph's sentences said `repeats` times, 6 s per sentence."""
    segments, clock = [], 0.0
    for paragraph in filter(None, PARAGRAPHS):
        for _ in range(repeats):
            for sentence in paragraph.split(". "):
                segments.append(Segment(start=clock, end=clock + 5.5, text=sentence.rstrip(".") + "."))
                clock += 6.0
    return Transcript(language="ru", duration=clock, backend="local", model="faster-whisper:base",
                      segments=segments)


def test_inflected_russian_words_share_a_stem_and_function_words_are_dropped() -> None:
    forms = {russian_term(w) for w in ("матрица", "матрицы", "матрицей", "матриц")}
    assert len(forms) == 1
    assert russian_term("что") is None
    assert russian_term("и") is None


def test_a_russian_lecture_gets_russian_chapter_titles_and_keywords() -> None:
    topics = LocalTopicExtractor(min_chapter_seconds=60).extract(_lecture())
    assert len(topics.chapters) >= 3
    titles = [c.title for c in topics.chapters if c.title != "Introduction"]
    assert titles and all(_cyrillic(t) for t in titles)
    assert topics.keywords and all(_cyrillic(k) for k in topics.keywords)
    assert any("определител" in t.lower() for t in titles)


def test_cyrillic_subtitle_lines_fit_and_do_not_end_on_a_preposition() -> None:
    cues = build_cues(_lecture(repeats=1))
    assert cues
    for cue in cues:
        assert all(len(line) <= MAX_LINE for line in cue.lines)
        assert not any(binds_forward(line.split()[-1]) for line in cue.lines[:-1])
