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
from leap_core.speech.keywords import general_weights
from leap_core.speech.slide_chapters import slide_boundaries, snap
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
SHORT_CHAPTER_SECONDS = 20.0
"""The shortest chapter a short lecture gets (YouTube's own minimum is 10 s)."""
PAUSE_SECONDS = 8.0
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


def _ranked(counts: Counter[Phrase], idf: dict[Phrase, float] | None = None,
            general: dict[Phrase, float] | None = None) -> list[Phrase]:
    scores = {p: _weight(p, c) * (idf or {}).get(p, 1.0) * (general or {}).get(p, 1.0) for p, c in counts.items()}
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

    def extract(self, transcript: Transcript, slides: Sequence[float] = ()) -> Topics:
        """`slides`: slide-change times of the screen share (leap_core.media.slides); boundaries snap to them."""
        words = timed_words(transcript)
        if not words:
            return Topics(summary="", chapters_note="omitted: the transcript is empty")
        counts, spellings = _phrases(words)
        top = _distinct(_ranked(counts, general=general_weights(
            {p: _spelled(p, spellings) for p in counts}, transcript.language)))[:KEYWORDS]
        summary = _summary(words, {t for p in top for t in p})
        chapters, note = validate_chapters(self._chapters(words, transcript.duration, slides), transcript.duration)
        return Topics(summary=summary, keywords=[_spelled(p, spellings) for p in top],
                      chapters=chapters, chapters_note=note)

    def _chapters(self, words: list[TimedWord], duration: float, slides: Sequence[float] = ()) -> list[Chapter]:
        # A short lecture gets shorter chapters (a 199 s talk in two parts had room for only one of 60 s).
        min_seconds = min(self.min_chapter_seconds, max(SHORT_CHAPTER_SECONDS, duration / 5))
        tiles = blocks(words)
        speech = max(words[-1].end - words[0].start, 1.0)
        blocks_per_second = len(tiles) / speech
        min_gap = max(2, math.ceil(min_seconds * blocks_per_second))
        max_count = min(self.max_chapters, int(duration / min_seconds)) - 1
        cuts = {_sentence_start(words, tiles[b].first_word) for b in boundaries(tiles, min_gap, max_count)}
        cuts |= _pauses(words, min_seconds)
        if slides:
            times = slide_boundaries([words[c].start for c in cuts], slides, duration, min_seconds)
            cuts = {_word_at(words, t) for t in times[1:]} - {0}
        edges = _at_least_three([0, *sorted(cuts), len(words)], words, min_seconds)
        parts = [words[a:b] for a, b in pairwise(edges) if b > a]
        starts = [0.0] + [part[0].start for part in parts[1:]]
        if slides:  # the chapter starts on the slide, not at the first word said over it
            starts = [0.0, *snap(starts[1:], slides, window=PAUSE_SECONDS)]
        return [Chapter(start=s, title=t) for s, t in zip(starts, _titles(parts), strict=True)]


def _word_at(words: Sequence[TimedWord], at: float) -> int:
    """The first word that ends after `at`: the first one said over a slide shown at `at`."""
    return next((i for i, w in enumerate(words) if w.end > at), len(words) - 1)


def _pauses(words: Sequence[TimedWord], min_seconds: float) -> set[int]:
    """Words after a silence of PAUSE_SECONDS or more: a lecture resumed after a break starts a chapter."""
    return {i for i in range(1, len(words)) if words[i].start - words[i - 1].end >= PAUSE_SECONDS
            and words[i].start - words[0].start >= min_seconds and words[-1].end - words[i].start >= min_seconds}


def _at_least_three(edges: list[int], words: Sequence[TimedWord], min_seconds: float) -> list[int]:
    """Split the longest part at a sentence start near its middle until there are three (YouTube's minimum)."""
    edges = sorted(set(edges))
    while len(edges) < 4:
        spans = [(words[b - 1].end - words[a].start, a, b) for a, b in pairwise(edges)]
        length, a, b = max(spans)
        if length < 2 * min_seconds or b - a < 2 * W:
            break
        middle = _sentence_start(words, (a + b) // 2)
        if not a < middle < b:
            break
        edges = sorted({*edges, middle})
    return edges
