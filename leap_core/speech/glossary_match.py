"""Glossary spelling after decoding: a guarded fuzzy and phonetic match of word n-grams.

Whisper writes a name it does not know as the nearest things it does know ("Dijkstra" → "Dike Straw",
"Kubernetes" → "Cubanetes"). Prompting the model with the glossary made the bundled tiny.en worse
(WER 18.9 % to 28.9-40.6 %, ADR 0039), so the terms are restored afterwards instead: every run of one to
`words + 2` transcript words is compared with each term (and its `sounds_like` variants) by spelling
(rapidfuzz's normalised Indel ratio) and by sound (jellyfish's Metaphone key), and the best
non-overlapping matches are rewritten.

The guard is what keeps a correct transcript correct: a run made only of real words of the language
(wordfreq's Zipf frequency ≥ DICTIONARY_ZIPF, i.e. more than about once in three million words) is never
rewritten, nor is a run that starts or ends on a function word, unless it equals a variant the lecturer
listed. A misheard name is almost always at least one non-word ("Cubanetes", "traperes"), while a real
sentence is made of real words, so the guard costs little recall and buys the false-correction rate.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import jellyfish
from rapidfuzz.distance import Indel

from leap_core.speech.glossary import Glossary
from leap_core.speech.keywords import base_language, zipf
from leap_core.speech.transcript import Segment, Transcript, Word

DICTIONARY_ZIPF = 2.5
"""At or above this Zipf frequency a word counts as a correct dictionary word (2.5: about once in three million
words; at 3.0 "cached" (2.6) was not one, and became "Memcached": ADR 0039, amendment of 2026-12-04)."""
FUNCTION_ZIPF = 5.6
"""Words this frequent ("the", "of", "is", "that") never start or end a rewritten run."""
MIN_SPELLING = 0.6
MIN_SOUND = 0.75
MIN_SCORE = 0.75
EXTRA_WORDS = 2
"""A term may have been heard as up to this many words more than it has ("Kolmogorov" → "call more
golf")."""
MAX_REPORTED = 50
_EDGE = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)


_WORD = re.compile(r"^\W*([^\W\d_]+(?:['-][^\W\d_]+)*)\W*$")


def normalised(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def word_key(token: str) -> str:
    """A spoken word's key, or "" for what is not one ("str.join", "log10", "AF_INET"): never rewritten."""
    match = _WORD.match(token)
    return normalised(match.group(1)) if match and "." not in match.group(1) else ""


@cache
def _sound(text: str) -> str:
    """Metaphone of the Latin letters; other scripts (Cyrillic) are matched by spelling alone."""
    latin = "".join(c for c in text if "a" <= c <= "z")
    return jellyfish.metaphone(latin) if latin else ""


@dataclass(frozen=True)
class _Target:
    term: str
    key: str
    listed: bool
    """A `sounds_like` variant the lecturer wrote down: an exact hit passes the dictionary guard."""
    words: int


def _targets(glossary: Glossary) -> list[_Target]:
    out = []
    for entry in glossary.terms:
        words = len(entry.term.split())
        out.append(_Target(entry.term, normalised(entry.term), False, words))
        out += [_Target(entry.term, normalised(v), True, max(words, len(v.split()))) for v in entry.sounds_like]
    return [t for t in out if t.key]


def similarity(heard: str, target: str) -> tuple[float, float]:
    """(spelling, sound) similarity in 0..1 of two normalised strings."""
    spelling = Indel.normalized_similarity(heard, target)
    a, b = _sound(heard), _sound(target)
    sound = Indel.normalized_similarity(a, b) if a and b else spelling
    return spelling, sound


@dataclass
class GlossaryReport:
    found: Counter[str] = field(default_factory=Counter)
    """Each term's occurrences in the corrected transcript (as heard or after correction)."""
    corrections: list[dict[str, object]] = field(default_factory=list)

    def metadata(self) -> dict[str, object]:
        return {"glossary_terms_found": dict(sorted(self.found.items())),
                "glossary_corrections": len(self.corrections),
                "glossary_corrected": self.corrections[:MAX_REPORTED]}


@dataclass(frozen=True)
class _Match:
    score: float
    first: int
    count: int
    term: str


class GlossaryMatcher:
    def __init__(self, glossary: Glossary, language: str = "en") -> None:
        self.targets = _targets(glossary)
        self.language = base_language(language)
        self.max_words = max((t.words for t in self.targets), default=0) + EXTRA_WORDS
        self._exact = {t.key: t for t in self.targets}

    def _is_word(self, key: str) -> bool:
        return zipf(key, self.language) >= DICTIONARY_ZIPF

    def keeps_case(self, heard: str, term: str) -> bool:
        """"raft" heard for the term "Raft" stays as heard: the word is common, so the case is a guess."""
        return heard == normalised(term) and self._is_word(heard)

    def _is_function(self, key: str) -> bool:
        return zipf(key, self.language) >= FUNCTION_ZIPF

    def _best(self, keys: Sequence[str]) -> tuple[float, str] | None:
        """The term this run of words most likely is, with its score, or None when the guard says no."""
        heard = "".join(keys)
        exact = self._exact.get(heard)
        if exact is not None:
            return 2.0, exact.term
        if all(self._is_word(k) for k in keys):
            return None
        if len(keys) > 1 and (self._is_function(keys[0]) or self._is_function(keys[-1])):
            return None
        best: tuple[float, str] | None = None
        for target in self.targets:
            if len(keys) > target.words + EXTRA_WORDS or not 0.6 <= len(heard) / len(target.key) <= 1.6:
                continue
            spelling, sound = similarity(heard, target.key)
            score = (spelling + sound) / 2
            if spelling >= MIN_SPELLING and sound >= MIN_SOUND and score >= MIN_SCORE and (
                    best is None or score > best[0]):
                best = (score, target.term)
        return best

    def matches(self, keys: Sequence[str]) -> list[_Match]:
        """Non-overlapping matches, the best first: "Dike Straw" wins over "the Dike" and "Straw"."""
        found = []
        for first in range(len(keys)):
            for count in range(1, self.max_words + 1):
                window = keys[first : first + count]
                if len(window) < count or not all(window):
                    break
                best = self._best(window)
                if best is not None:
                    found.append(_Match(best[0] - 0.01 * count, first, count, best[1]))
        taken: set[int] = set()
        chosen = []
        for match in sorted(found, key=lambda m: (-m.score, m.first)):
            span = set(range(match.first, match.first + match.count))
            if not span & taken:
                taken |= span
                chosen.append(match)
        return sorted(chosen, key=lambda m: m.first)


def _rewrite(tokens: Sequence[str], match: _Match) -> str:
    """The term in place of the run, keeping the run's outer punctuation and a sentence-initial capital."""
    lead = _EDGE.match(tokens[match.first])
    tail = _EDGE.match(tokens[match.first + match.count - 1])
    assert lead is not None and tail is not None
    term = match.term
    if lead.group(2)[:1].isupper() and term[:1].islower():
        term = term[:1].upper() + term[1:]
    return f"{lead.group(1)}{term}{tail.group(3)}"


def _segment_words(segment: Segment) -> list[Word]:
    """The segment's words, with Whisper's split compounds joined ("post", "-air" → "post-air")."""
    if not segment.words:
        tokens = segment.text.split()
        step = (segment.end - segment.start) / max(len(tokens), 1)
        return [Word(start=segment.start + i * step, end=segment.start + (i + 1) * step, text=t)
                for i, t in enumerate(tokens)]
    words: list[Word] = []
    for word in segment.words:
        if words and word.text.startswith("-") and not words[-1].text.endswith(("-", ".", ",")):
            words[-1] = Word(start=words[-1].start, end=word.end, text=words[-1].text + word.text)
        else:
            words.append(word)
    return words


def correct_segment(segment: Segment, matcher: GlossaryMatcher, report: GlossaryReport) -> Segment:
    words = _segment_words(segment)
    tokens = [w.text for w in words]
    matches = matcher.matches([word_key(t) for t in tokens])
    if not matches:
        return segment
    out: list[Word] = []
    cursor = 0
    for match in matches:
        out += words[cursor : match.first]
        heard = " ".join(tokens[match.first : match.first + match.count])
        text = heard if matcher.keeps_case(normalised(heard), match.term) else _rewrite(tokens, match)
        report.found[match.term] += 1
        if text != heard:
            report.corrections.append({"at": round(words[match.first].start, 2), "heard": heard, "term": match.term})
        out.append(Word(start=words[match.first].start, end=words[match.first + match.count - 1].end, text=text))
        cursor = match.first + match.count
    out += words[cursor:]
    if [w.text for w in out] == tokens:
        return segment
    return segment.model_copy(update={"text": " ".join(w.text for w in out),
                                      "words": out if segment.words else []})


def apply_glossary(transcript: Transcript, glossary: Glossary) -> tuple[Transcript, GlossaryReport]:
    """The transcript with glossary spellings restored, and what was found and changed."""
    report = GlossaryReport()
    if not glossary:
        return transcript, report
    matcher = GlossaryMatcher(glossary, transcript.language)
    segments = [correct_segment(s, matcher, report) for s in transcript.segments]
    return transcript.model_copy(update={"segments": segments}), report
