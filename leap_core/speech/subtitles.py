"""Readable subtitles from a transcript: the broadcast rules, then SRT and WebVTT files.

Rules (Netflix/BBC practice, as the issue states them): at most two lines of 42 characters, each cue on
screen 1 to 7 s, no two cues at once, at most 21 characters per second, and breaks that follow sentences
and clauses rather than splitting "the | matrix". Word timings place cues exactly where the
backend gives them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import srt

from leap_core.disk import write_text_atomic
from leap_core.speech.russian import binds_forward
from leap_core.speech.transcript import Transcript
from leap_core.speech.words import TimedWord, timed_words

MAX_LINE = 42
MIN_SECONDS = 1.0
MAX_SECONDS = 7.0
MAX_CPS = 21.0
PAUSE_SECONDS = 1.0
"""A silence this long ends a cue even mid-sentence: a caption left up over a pause reads as lag."""
MAX_LEAD_SECONDS = 0.5
"""A cue that needs more reading time may appear this much before its first word, never more."""

_SENTENCE_END = (".", "?", "!", "…")
_CLAUSE_END = (",", ";", ":", "\u2014", "\u2013")
_WEAK = frozenset(
    ["a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "with", "from", "and", "or", "but", "as",
     "that", "is", "are", "was"]
)
"""Words a line should not end on: they bind to what follows ("the | matrix" reads badly)."""


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def _split_long(word: TimedWord) -> list[TimedWord]:
    """A token longer than a line (a URL) is cut into line-sized pieces sharing its time by length."""
    if len(word.text) <= MAX_LINE:
        return [word]
    pieces = [word.text[i : i + MAX_LINE] for i in range(0, len(word.text), MAX_LINE)]
    step = (word.end - word.start) / len(pieces)
    return [TimedWord(word.start + i * step, word.start + (i + 1) * step, p) for i, p in enumerate(pieces)]


def _cue_words(transcript: Transcript) -> list[TimedWord]:
    return [piece for word in timed_words(transcript) for piece in _split_long(word)]


def _break_cost(first: list[str], second: list[str]) -> float:
    last = first[-1]
    cost = float(abs(len(" ".join(first)) - len(" ".join(second))))
    if last.endswith(_SENTENCE_END):
        cost -= 100
    elif last.endswith(_CLAUSE_END):
        cost -= 50
    elif last.lower() in _WEAK or binds_forward(last):
        cost += 20
    return cost


def wrap(tokens: list[str]) -> tuple[str, ...] | None:
    """The best two-line layout of `tokens`, or None when they do not fit in two lines."""
    text = " ".join(tokens)
    if len(text) <= MAX_LINE:
        return (text,)
    options = [
        (_break_cost(tokens[:k], tokens[k:]), k)
        for k in range(1, len(tokens))
        if len(" ".join(tokens[:k])) <= MAX_LINE and len(" ".join(tokens[k:])) <= MAX_LINE
    ]
    if not options:
        return None
    _, k = min(options)
    return (" ".join(tokens[:k]), " ".join(tokens[k:]))


def _group(words: list[TimedWord]) -> list[list[TimedWord]]:
    """Greedy cues: grow until the text, the 7 s limit or a pause says stop; end early at a sentence end."""
    groups: list[list[TimedWord]] = []
    current: list[TimedWord] = []
    for index, word in enumerate(words):
        if current and (
            wrap([w.text for w in [*current, word]]) is None
            or word.end - current[0].start > MAX_SECONDS
            or word.start - current[-1].end > PAUSE_SECONDS
        ):
            groups.append(current)
            current = []
        current.append(word)
        following = words[index + 1] if index + 1 < len(words) else None
        if (following is not None and word.text.endswith(_SENTENCE_END)
                and following.start - current[0].start >= MIN_SECONDS):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _timed(groups: list[list[TimedWord]], duration: float) -> list[Cue]:
    """Stretch each cue to its minimum and reading time, into the silence around it, not over a neighbour."""
    cues: list[Cue] = []
    for index, group in enumerate(groups):
        lines = wrap([w.text for w in group]) or (" ".join(w.text for w in group),)
        limit = groups[index + 1][0].start if index + 1 < len(groups) else max(duration, group[-1].end)
        floor = cues[-1].end if cues else 0.0
        start = max(group[0].start, floor)
        needed = max(MIN_SECONDS, len(" ".join(lines)) / MAX_CPS)
        end = min(max(group[-1].end, start + needed), start + MAX_SECONDS, limit)
        if end - start < needed:
            start = max(floor, end - needed, group[0].start - MAX_LEAD_SECONDS)
        cues.append(Cue(start, max(end, start), lines))
    return cues


def build_cues(transcript: Transcript) -> list[Cue]:
    words = _cue_words(transcript)
    return [c for c in _timed(_group(words), transcript.duration) if c.end > c.start]


def _srt_items(cues: Iterable[Cue]) -> list[srt.Subtitle]:
    return [srt.Subtitle(index=i, start=timedelta(seconds=round(c.start, 3)),
                         end=timedelta(seconds=round(c.end, 3)), content="\n".join(c.lines))
            for i, c in enumerate(cues, start=1)]


def write_srt(cues: Iterable[Cue], path: Path) -> Path:
    write_text_atomic(path, srt.compose(_srt_items(cues)))
    return path


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def write_vtt(cues: Iterable[Cue], path: Path) -> Path:
    blocks = [f"{_vtt_time(c.start)} --> {_vtt_time(c.end)}\n" + "\n".join(c.lines) for c in cues]
    write_text_atomic(path, "WEBVTT\n\n" + "".join(f"{block}\n\n" for block in blocks))
    return path
