"""Russian content words for TextTiling, key phrases and chapter titles.

Russian inflects heavily ("матрица", "матрицы", "матрицей" are one topic word), so English-style suffix
folding would split every topic into six; the Snowball Russian stemmer folds them, and the `stop-words`
package's Russian list removes function words. Both are maintained libraries, not lists kept here.
"""

from __future__ import annotations

from functools import cache

import snowballstemmer
from stop_words import get_stop_words

_STEMMER = snowballstemmer.stemmer("russian")
MIN_LETTERS = 3
_YO = str.maketrans({"\u0451": "\u0435"})
"""Russian "yo" is usually written as "ye": both spellings are one word."""


@cache
def _stop_words() -> frozenset[str]:
    return frozenset(w.translate(_YO) for w in get_stop_words("ru"))


def is_cyrillic(token: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in token)


@cache
def russian_term(token: str) -> str | None:
    """The Snowball stem of a lowercased Russian word, None for a stop word or a word too short to mean much."""
    folded = token.translate(_YO)
    if folded in _stop_words() or len(folded) < MIN_LETTERS:
        return None
    return str(_STEMMER.stemWord(folded))


def binds_forward(token: str) -> bool:
    """A short Russian function word ("в", "и", "на", "что"): a subtitle line should not end on it."""
    folded = token.lower().strip(".,;:!?…").translate(_YO)
    return is_cyrillic(folded) and len(folded) <= 3 and folded in _stop_words()
