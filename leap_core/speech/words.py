"""A transcript as a flat list of timed words, whatever the backend gave."""

from __future__ import annotations

from dataclasses import dataclass

from leap_core.speech.transcript import Segment, Transcript


@dataclass(frozen=True)
class TimedWord:
    start: float
    end: float
    text: str


def _spread(segment: Segment) -> list[TimedWord]:
    """No word timings: share the segment's span by word length, which is how speech paces on average."""
    tokens = segment.text.split()
    weights = [len(t) + 1 for t in tokens]
    total = sum(weights) or 1
    span = segment.end - segment.start
    words, cursor = [], segment.start
    for token, weight in zip(tokens, weights, strict=True):
        end = cursor + span * weight / total
        words.append(TimedWord(cursor, end, token))
        cursor = end
    return words


def timed_words(transcript: Transcript) -> list[TimedWord]:
    """Every word in order, with start times that never run backwards and no line breaks inside a word."""
    words: list[TimedWord] = []
    floor = 0.0
    for segment in transcript.segments:
        given = [TimedWord(w.start, w.end, " ".join(w.text.split())) for w in segment.words if w.text.strip()]
        for word in given or _spread(segment):
            start = max(word.start, floor)
            words.append(TimedWord(start, max(word.end, start), word.text))
            floor = start
    return words
