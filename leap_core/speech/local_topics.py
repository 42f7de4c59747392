"""The offline topic extractor: TextTiling chapters, key-phrase titles and keywords, an extractive summary.

Key phrases are runs of content words inside a sentence (RAKE's candidates, Rose et al. 2010), scored
per chapter by TF-IDF across chapters so a title names what is *particular* to its chapter, not the
lecture's subject repeated. The summary is the lecture's own most key-phrase-dense sentences, in order.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

from leap_core.speech.chapters import validate_chapters
from leap_core.speech.texttiling import W, blocks, boundaries, term
from leap_core.speech.topic_models import Chapter, Topics
from leap_core.speech.transcript import Transcript
from leap_core.speech.words import TimedWord, timed_words

MAX_PHRASE_WORDS = 3
KEYWORDS = 8
SUMMARY_SENTENCES = 3
MIN_CHAPTER_SECONDS = 60.0
"""A chapter shorter than a minute is a paragraph, not something a viewer navigates to."""
MAX_CHAPTERS = 20
_SENTENCE_END = re.compile(r"[.!?…]$")
_BREAK = re.compile(r"[.!?…,;:]$")

Phrase = tuple[str, ...]


def _phrases(words: Sequence[TimedWord]) -> tuple[Counter[Phrase], dict[Phrase, Counter[str]]]:
    """Counts of candidate phrases (by stem) and how each was actually spelled."""
    counts: Counter[Phrase] = Counter()
    spellings: dict[Phrase, Counter[str]] = {}
    run: list[tuple[str, str]] = []

    def flush() -> None:
        for size in range(1, min(MAX_PHRASE_WORDS, len(run)) + 1):
            for i in range(len(run) - size + 1):
                piece = run[i : i + size]
                key = tuple(t for t, _ in piece)
                counts[key] += 1
                spellings.setdefault(key, Counter())[" ".join(s for _, s in piece)] += 1
        run.clear()

    for word in words:
        stem = term(word.text)
        if stem is None:
            flush()
            continue
        run.append((stem, re.sub(r"[^\w'-]", "", word.text).lower()))
        if _BREAK.search(word.text):
            flush()
    flush()
    return counts, spellings


def _weight(phrase: Phrase, count: int) -> float:
    """Longer repeated phrases name a topic better than single words ("matrix multiplication" > "matrix")."""
    if len(phrase) > 1 and count < 2:
        return 0.0
    return count * (1 + 0.25 * (len(phrase) - 1))


def _ranked(counts: Counter[Phrase], idf: dict[Phrase, float] | None = None) -> list[Phrase]:
    scores = {p: _weight(p, c) * (idf or {}).get(p, 1.0) for p, c in counts.items()}
    return [p for p, s in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])) if s > 0]


def _distinct(ranked: list[Phrase]) -> list[Phrase]:
    """Keywords that do not repeat each other: "matrix" is dropped after "matrix multiplication"."""
    chosen: list[Phrase] = []
    for phrase in ranked:
        if not any(set(phrase) <= set(c) or set(c) <= set(phrase) for c in chosen):
            chosen.append(phrase)
    return chosen


def _spelled(phrase: Phrase, spellings: dict[Phrase, Counter[str]]) -> str:
    return spellings[phrase].most_common(1)[0][0]


def _titles(parts: Sequence[Sequence[TimedWord]]) -> list[str]:
    """Each chapter's best phrase by TF-IDF across chapters; no two chapters get the same title."""
    counted = [_phrases(part) for part in parts]
    df = Counter(p for counts, _ in counted for p in counts)
    idf = {p: math.log((1 + len(parts)) / (1 + n)) + 1 for p, n in df.items()}
    titles: list[str] = []
    for counts, spellings in counted:
        options = [_spelled(p, spellings) for p in _ranked(counts, idf)]
        fresh = [o for o in options if o.capitalize() not in titles]
        titles.append(fresh[0].capitalize() if fresh else f"Part {len(titles) + 1}")
    return titles


def _sentences(words: Sequence[TimedWord]) -> list[list[TimedWord]]:
    out: list[list[TimedWord]] = [[]]
    for word in words:
        out[-1].append(word)
        if _SENTENCE_END.search(word.text):
            out.append([])
    return [s for s in out if s]


def _summary(words: Sequence[TimedWord], keywords: set[str]) -> str:
    """The sentences densest in the lecture's key terms, kept in the order they were said."""
    scored = []
    seen: set[str] = set()
    for index, sentence in enumerate(_sentences(words)):
        text = " ".join(w.text for w in sentence)
        if not 6 <= len(sentence) <= 40 or text.lower() in seen:
            continue
        seen.add(text.lower())
        hits = sum(1 for w in sentence if term(w.text) in keywords)
        scored.append((hits / math.sqrt(len(sentence)), index, text))
    best = sorted(scored, key=lambda s: (-s[0], s[1]))[:SUMMARY_SENTENCES]
    return " ".join(text for _, _, text in sorted(best, key=lambda s: s[1]))


def _sentence_start(words: Sequence[TimedWord], index: int) -> int:
    """Move a boundary to the nearest sentence start within half a pseudo-sentence, if there is one."""
    window = range(max(1, index - W // 2), min(len(words), index + W // 2 + 1))
    starts = [i for i in window if _SENTENCE_END.search(words[i - 1].text)]
    return min(starts, key=lambda i: abs(i - index)) if starts else index


class LocalTopicExtractor:
    def __init__(self, min_chapter_seconds: float = MIN_CHAPTER_SECONDS,
                 max_chapters: int = MAX_CHAPTERS) -> None:
        self.min_chapter_seconds = min_chapter_seconds
        self.max_chapters = max_chapters

    def extract(self, transcript: Transcript) -> Topics:
        words = timed_words(transcript)
        if not words:
            return Topics(summary="", chapters_note="omitted: the transcript is empty")
        counts, spellings = _phrases(words)
        top = _distinct(_ranked(counts))[:KEYWORDS]
        summary = _summary(words, {t for p in top for t in p})
        chapters, note = validate_chapters(self._chapters(words, transcript.duration), transcript.duration)
        return Topics(summary=summary, keywords=[_spelled(p, spellings) for p in top],
                      chapters=chapters, chapters_note=note)

    def _chapters(self, words: list[TimedWord], duration: float) -> list[Chapter]:
        tiles = blocks(words)
        speech = max(words[-1].end - words[0].start, 1.0)
        blocks_per_second = len(tiles) / speech
        min_gap = max(2, math.ceil(self.min_chapter_seconds * blocks_per_second))
        max_count = min(self.max_chapters, int(duration / self.min_chapter_seconds)) - 1
        cuts = [_sentence_start(words, tiles[b].first_word) for b in boundaries(tiles, min_gap, max_count)]
        edges = [0, *sorted(set(cuts)), len(words)]
        parts = [words[a:b] for a, b in pairwise(edges) if b > a]
        starts = [0.0] + [part[0].start for part in parts[1:]]
        return [Chapter(start=s, title=t) for s, t in zip(starts, _titles(parts), strict=True)]
