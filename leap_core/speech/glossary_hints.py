"""Guarded hotwords: the glossary's terms as the decoder's hint, kept only where the plain decode agrees.

Spelling correction cannot restore a name the model replaced with ordinary words ("Dijkstra" → "next");
faster-whisper's `hotwords` (the terms put before every window) makes the model write the names it
heard, but also write them where none was said ("confuse graph colouring" → "confuse Raft coloring").
So the recording is decoded twice, plain and hinted, the two word sequences are aligned, and a term the
hinted decode wrote where the plain one did not is taken only when

- the plain decode heard *something* there (a term against no plain word is an insertion), and
- either the model finds the hinted word plausible *without* the hint (faster-whisper's word
  probability comes from its alignment pass, which sees the audio and the text but not the hotwords:
  ≥ MIN_PROBABILITY), or the plain words there sound and spell like the hinted ones or like one of the
  term's `sounds_like` (the matcher's own similarity, mean ≥ MIN_CLOSENESS).

Everything else stays as the plain decode wrote it, so the words around the terms keep the plain
decode's accuracy (the hint does not change the text where no term is involved). Thresholds: ADR 0039.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from leap_core.speech.glossary import Glossary
from leap_core.speech.glossary_match import normalised, similarity, word_key
from leap_core.speech.transcribers import HintableTranscriber, Transcriber
from leap_core.speech.transcript import Segment, Transcript, Word

MIN_PROBABILITY = 0.2
"""A hinted term the unhinted model gives less than this (mean token probability) is taken only on sound
evidence."""
MIN_CLOSENESS = 0.75
"""Mean of spelling and Metaphone similarity (glossary_match.similarity) of the plain and hinted words;
the same bar as the spelling matcher's MIN_SCORE."""
MAX_HOTWORD_CHARS = 600
"""faster-whisper keeps at most 223 prompt tokens; about 600 characters of names stay under it."""


def hotword_text(glossary: Glossary, limit: int = MAX_HOTWORD_CHARS) -> str:
    """The terms in the glossary's order, as many as fit: a long glossary hints its first terms only."""
    out: list[str] = []
    size = 0
    for entry in glossary.terms:
        if size + len(entry.term) + 2 > limit:
            break
        out.append(entry.term)
        size += len(entry.term) + 2
    return ", ".join(out)


@dataclass
class HintReport:
    accepted: list[dict[str, object]] = field(default_factory=list)
    rejected: list[dict[str, object]] = field(default_factory=list)

    def metadata(self) -> dict[str, object]:
        return {"glossary_hints_accepted": len(self.accepted), "glossary_hints_rejected": len(self.rejected),
                "glossary_hints": (self.accepted + self.rejected)[:50]}


@dataclass(frozen=True)
class _Flat:
    segment: int
    word: Word
    key: str


def _flatten(transcript: Transcript) -> list[_Flat]:
    return [_Flat(i, w, word_key(w.text)) for i, s in enumerate(transcript.segments) for w in s.words]


def _terms_in(words: Sequence[_Flat], keys: dict[str, str]) -> list[tuple[str, float]]:
    """The glossary terms a run of hinted words spells, each with its least sure word's probability."""
    found = []
    for first in range(len(words)):
        for count in range(1, 5):
            run = words[first : first + count]
            if len(run) < count:
                break
            term = keys.get("".join(w.key for w in run))
            if term is not None:
                found.append((term, min(w.word.probability if w.word.probability is not None else 0.0
                                        for w in run)))
    return found


def _closeness(plain: str, hinted: str, variants: Sequence[str]) -> float:
    """How alike the plain and hinted words are, or the plain words and a `sounds_like` of the term."""
    if not plain:
        return 0.0
    return max(sum(similarity(plain, other)) / 2 for other in (hinted, *variants) if other)


def _verdict(plain: Sequence[_Flat], hinted: Sequence[_Flat], keys: dict[str, str],
             variants: dict[str, list[str]]) -> tuple[bool, dict[str, object]]:
    """Whether the hinted words replace the plain ones, and why (the report's entry)."""
    terms = _terms_in(hinted, keys)
    heard = " ".join(w.word.text for w in plain)
    said = " ".join(w.word.text for w in hinted)
    closeness = _closeness("".join(w.key for w in plain), "".join(w.key for w in hinted),
                           [v for term, _ in terms if len(terms) == 1 for v in variants.get(term, [])])
    probability = min(p for _, p in terms)
    entry: dict[str, object] = {"at": round(hinted[0].word.start, 2), "plain": heard, "hinted": said,
                                "probability": round(probability, 3), "closeness": round(closeness, 3)}
    ok = bool(plain) and (probability >= MIN_PROBABILITY or closeness >= MIN_CLOSENESS)
    return ok, entry


def merge_hints(plain: Transcript, hinted: Transcript, glossary: Glossary) -> tuple[Transcript, HintReport]:
    """The plain transcript with the hinted decode's glossary terms put in where the guard allows."""
    report = HintReport()
    keys = {normalised(t.term): t.term for t in glossary.terms if normalised(t.term)}
    variants = {t.term: [normalised(v) for v in t.sounds_like] for t in glossary.terms}
    ours, theirs = _flatten(plain), _flatten(hinted)
    if not keys or not ours or not theirs:
        return plain, report
    matcher = SequenceMatcher(a=[w.key for w in ours], b=[w.key for w in theirs], autojunk=False)
    replace: dict[int, list[Word]] = {}
    drop: set[int] = set()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or not _terms_in(theirs[j1:j2], keys):
            continue
        if _terms_in(ours[i1:i2], keys):
            continue
        ok, entry = _verdict(ours[i1:i2], theirs[j1:j2], keys, variants)
        (report.accepted if ok else report.rejected).append(entry)
        if ok:
            replace[i1] = [w.word for w in theirs[j1:j2]]
            drop |= set(range(i1 + 1, i2))
    if not replace:
        return plain, report
    return _rebuild(plain, ours, replace, drop), report


def _rebuild(plain: Transcript, flat: list[_Flat], replace: dict[int, list[Word]], drop: set[int]) -> Transcript:
    """Plain segments with the accepted runs swapped in; a run lands in the segment its first plain word is in."""
    words: list[list[Word]] = [[] for _ in plain.segments]
    for index, item in enumerate(flat):
        if index in drop:
            continue
        words[item.segment] += replace.get(index, [item.word])
    segments: list[Segment] = []
    for segment, new in zip(plain.segments, words, strict=True):
        if new == segment.words:
            segments.append(segment)
        elif new:
            segments.append(segment.model_copy(update={
                "words": new, "text": " ".join(w.text for w in new),
                "start": min(segment.start, new[0].start), "end": max(segment.end, new[-1].end)}))
    return plain.model_copy(update={"segments": segments})


def decode_with_hints(transcriber: Transcriber, audio: Path, work_dir: Path,
                      glossary: Glossary) -> tuple[Transcript, HintReport | None]:
    """The plain decode, with the glossary's hinted terms merged in where the backend can take hotwords.

    The hinted decode keeps its chunks under `work_dir/hinted`, so a crash resumes both decodes."""
    plain = transcriber.transcribe(audio, work_dir=work_dir)
    if not glossary or not isinstance(transcriber, HintableTranscriber):
        return plain, None
    hinted = transcriber.hinted(hotword_text(glossary)).transcribe(audio, work_dir=work_dir / "hinted")
    return merge_hints(plain, hinted, glossary)
