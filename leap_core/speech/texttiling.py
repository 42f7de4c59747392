"""TextTiling (Hearst 1997): topic boundaries where lexical cohesion between neighbouring blocks dips.

A lecture that moves to a new topic starts using new words. The text is cut into pseudo-sentences of
`W` words; the similarity of the `K` pseudo-sentences before each gap with the `K` after it traces a
curve whose deep valleys are topic shifts. It needs no model, so the offline default has real chapters.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from leap_core.speech.russian import is_cyrillic, russian_term
from leap_core.speech.stopwords import STOPWORDS
from leap_core.speech.words import TimedWord

W = 20
"""Words per pseudo-sentence: Hearst's value, about one spoken sentence."""
K = 6
"""Pseudo-sentences compared on each side of a gap: ~2 minutes of speech at lecture pace."""
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def term(word: str) -> str | None:
    """A crude stem for content words (plural and possessive folded), None for function words.
    Cyrillic words get Russian stop words and the Snowball stemmer instead (leap_core.speech.russian)."""
    match = _TOKEN.search(word.lower())
    if match is None:
        return None
    if is_cyrillic(match.group(0)):
        return russian_term(match.group(0))
    token = match.group(0).removesuffix("'s")
    if token in STOPWORDS or len(token) < 3:
        return None
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith("s") and not token.endswith("ss") and len(token) > 3:
        return token[:-1]
    return token


@dataclass(frozen=True)
class Block:
    """A pseudo-sentence: where it starts in the transcript (word index, seconds) and its terms."""

    first_word: int
    start: float
    terms: Counter[str]


def blocks(words: Sequence[TimedWord]) -> list[Block]:
    out = []
    for first in range(0, len(words), W):
        chunk = words[first : first + W]
        terms = Counter(t for w in chunk if (t := term(w.text)))
        out.append(Block(first, chunk[0].start, terms))
    return out


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(count * b[t] for t, count in a.items())
    norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def _depths(similarity: list[float]) -> list[float]:
    """How far each gap sits below the peaks on both sides: a valley between two cohesive stretches."""
    depths = []
    for i, value in enumerate(similarity):
        left = right = value
        for s in reversed(similarity[:i]):
            if s < left:
                break
            left = s
        for s in similarity[i + 1 :]:
            if s < right:
                break
            right = s
        depths.append(left - value + right - value)
    return depths


def boundaries(tiles: list[Block], min_gap_blocks: int, max_count: int) -> list[int]:
    """Indices of blocks that start a new topic: the deepest valleys, past Hearst's cutoff, spread out."""
    if len(tiles) < 2 * min_gap_blocks:
        return []
    similarity = []
    for gap in range(1, len(tiles)):
        before = sum((t.terms for t in tiles[max(0, gap - K) : gap]), Counter())
        after = sum((t.terms for t in tiles[gap : gap + K]), Counter())
        similarity.append(_cosine(before, after))
    depths = _depths(similarity)
    mean = sum(depths) / len(depths)
    spread = math.sqrt(sum((d - mean) ** 2 for d in depths) / len(depths))
    cutoff = mean - spread / 2
    chosen: list[int] = []
    for depth, gap in sorted(((d, g + 1) for g, d in enumerate(depths)), reverse=True):
        if depth <= cutoff or depth <= 0 or len(chosen) >= max_count:
            break
        too_close = any(abs(gap - c) < min_gap_blocks for c in [0, len(tiles), *chosen])
        if not too_close:
            chosen.append(gap)
    return sorted(chosen)
