"""The integrity gate's rules: cues a lecturer can trust, and whether the transcript covers the speech.

Whisper's best-known failures (faster-whisper, whisperX, Whisper-WebUI issue threads) are text invented
over silence or music ("Thanks for watching!"), loops of one phrase, and transcripts silently cut short.
Each rule here is a pure function over cues and the media stage's VAD speech spans (both in the
transcript's timeline), so the gate can run in the pipeline, in an asset check and in a test alike.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from leap_core.speech.subtitles import Cue

Span = tuple[float, float]

MIN_SPEECH_SHARE = 0.2
"""A cue overlapping VAD speech for less than this share of its length is text over non-speech."""
LOOP_REPEATS = 3
"""The same n-gram this many times in a row is a decoding loop (issue 20)."""
MAX_NGRAM = 4
COMPRESSION_RATIO = 2.4
"""Whisper's own fallback threshold: text that compresses better than this repeats itself."""
MIN_COVERAGE_PCT = 98.0
END_TOLERANCE_S = 5.0
"""The last cue must end within this of the last speech, else the transcript was cut short."""

BOILERPLATE: dict[str, tuple[str, ...]] = {
    "en": ("thanks for watching", "thank you for watching", "thank you so much for watching",
           "please subscribe", "subscribe to my channel", "like and subscribe", "see you in the next video",
           "subtitles by the amara org community"),
    "ru": ("продолжение следует", "спасибо за просмотр", "спасибо за внимание и до новых встреч",
           "подписывайтесь на канал", "ставьте лайки и подписывайтесь", "субтитры сделал dimatorzok",
           "субтитры создавал dimatorzok", "редактор субтитров а синецкая корректор а егорова"),
}
"""Phrases Whisper is known to produce over silence and music; a cue that is only one of them is dropped."""

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Dropped:
    start: float
    end: float
    text: str
    reason: str


@dataclass
class IntegrityReport:
    kept: list[Cue]
    dropped: list[Dropped] = field(default_factory=list)
    speech_seconds: float = 0.0
    covered_seconds: float = 0.0
    last_speech_end: float | None = None
    last_cue_end: float | None = None

    @property
    def coverage_pct(self) -> float:
        return 100.0 * self.covered_seconds / self.speech_seconds if self.speech_seconds else 100.0

    @property
    def ends_with_the_speech(self) -> bool:
        if self.last_speech_end is None:
            return True
        return self.last_cue_end is not None and self.last_speech_end - self.last_cue_end <= END_TOLERANCE_S

    @property
    def passed(self) -> bool:
        return self.coverage_pct >= MIN_COVERAGE_PCT and self.ends_with_the_speech

    def reason(self) -> str:
        """One line for a failed gate: what is missing."""
        if self.coverage_pct < MIN_COVERAGE_PCT:
            return (f"cues cover {self.coverage_pct:.1f} % of {self.speech_seconds:.0f} s of speech "
                    f"(needs {MIN_COVERAGE_PCT:g} %)")
        if not self.ends_with_the_speech:
            return (f"the last cue ends at {self.last_cue_end or 0:.1f} s but speech goes on to "
                    f"{self.last_speech_end:.1f} s")
        return "passed"

    def metadata(self) -> dict[str, object]:
        """What the transcript asset shows: coverage, the end check and every dropped cue with its reason."""
        return {
            "coverage_pct": round(self.coverage_pct, 2), "speech_seconds": round(self.speech_seconds, 2),
            "last_speech_end_s": self.last_speech_end, "last_cue_end_s": self.last_cue_end,
            "ends_with_the_speech": self.ends_with_the_speech, "dropped_cues": len(self.dropped),
            "dropped": [{"start": round(d.start, 2), "end": round(d.end, 2), "text": d.text, "reason": d.reason}
                        for d in self.dropped[:50]],
            "passed": self.passed,
        }


def overlap(start: float, end: float, speech: Sequence[Span]) -> float:
    """Seconds of [start, end] inside the speech spans (sorted, not overlapping)."""
    return sum(max(0.0, min(end, e) - max(start, s)) for s, e in speech if s < end and e > start)


def normalised(text: str) -> str:
    return " ".join(_WORD.findall(text.lower().replace("ё", "е")))


def is_boilerplate(text: str, language: str) -> bool:
    said = normalised(text)
    return bool(said) and said in {normalised(p) for p in BOILERPLATE.get(language.split("-")[0], ())}


def repeats_itself(text: str) -> bool:
    """An n-gram (n ≤ 4) said LOOP_REPEATS times in a row, or text compressing better than Whisper allows."""
    words = normalised(text).split()
    for n in range(1, MAX_NGRAM + 1):
        for i in range(len(words) - n * LOOP_REPEATS + 1):
            gram = words[i:i + n]
            if all(words[i + k * n:i + (k + 1) * n] == gram for k in range(1, LOOP_REPEATS)):
                return True
    raw = text.encode("utf-8")
    return len(raw) >= 24 and len(raw) / len(zlib.compress(raw)) > COMPRESSION_RATIO


def why_dropped(cue: Cue, speech: Sequence[Span], language: str) -> str | None:
    length = max(cue.end - cue.start, 1e-6)
    if overlap(cue.start, cue.end, speech) / length < MIN_SPEECH_SHARE:
        return "non-speech"
    if is_boilerplate(cue.text, language):
        return "boilerplate"
    if repeats_itself(cue.text):
        return "repeat loop"
    return None


def covered(cues: Sequence[Cue], speech: Sequence[Span]) -> float:
    """Speech seconds some cue covers (cues may touch; each speech second counts once)."""
    merged: list[list[float]] = []
    for cue in sorted(cues, key=lambda c: c.start):
        if merged and cue.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], cue.end)
        else:
            merged.append([cue.start, cue.end])
    return sum(overlap(s, e, speech) for s, e in merged)


def check(cues: Sequence[Cue], speech: Sequence[Span], language: str) -> IntegrityReport:
    """Drop untrustworthy cues, then measure how much of the speech the rest covers and where it ends."""
    spans = sorted((float(s), float(e)) for s, e in speech if e > s)
    report = IntegrityReport(kept=[])
    for cue in cues:
        reason = why_dropped(cue, spans, language)
        if reason:
            report.dropped.append(Dropped(cue.start, cue.end, cue.text, reason))
        else:
            report.kept.append(cue)
    report.speech_seconds = sum(e - s for s, e in spans)
    report.covered_seconds = covered(report.kept, spans)
    report.last_speech_end = spans[-1][1] if spans else None
    report.last_cue_end = max((c.end for c in report.kept), default=None)
    return report
