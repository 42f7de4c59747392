"""Words as search matches them: the dictionary of a language, and the terms of a text under it.

PostgreSQL does this itself (`to_tsvector('russian', ...)`); SQLite's FTS5 only splits words, so the
embedded index stores terms made here: lower-cased, "ё" folded to "е", PostgreSQL's stop words dropped, Snowball
stems (the stemmer family PostgreSQL's `english` and `russian` dictionaries use). The query goes
through the same function, so both sides meet on the same stems.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Literal

import snowballstemmer

from leap_core.search import stopwords

Dictionary = Literal["english", "russian", "simple"]
DICTIONARIES: tuple[Dictionary, ...] = ("english", "russian", "simple")

_WORD = re.compile(r"\w+", re.UNICODE)
_YO = str.maketrans({"ё": "е", "Ё": "Е"})


def dictionary_for(language: str | None) -> Dictionary:
    """The recording's language code (`en`, `ru-RU`, ...) to a text-search dictionary; others get `simple`."""
    code = (language or "").lower().split("-")[0].split("_")[0]
    if code == "en":
        return "english"
    if code == "ru":
        return "russian"
    return "simple"


@cache
def _stemmer(dictionary: Dictionary) -> snowballstemmer.stemmer | None:
    return None if dictionary == "simple" else snowballstemmer.stemmer(dictionary)


@cache
def stop_words(dictionary: Dictionary) -> frozenset[str]:
    if dictionary == "simple":
        return frozenset()
    return frozenset(w.translate(_YO) for w in (stopwords.ENGLISH if dictionary == "english" else stopwords.RUSSIAN))


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits, underscore); everything else is a separator."""
    return [w.translate(_YO) for w in _WORD.findall(text.lower())]


def terms(text: str, dictionary: Dictionary) -> list[str]:
    """The text's searchable terms under `dictionary`, in order (stop words out, stemmed)."""
    stop = stop_words(dictionary)
    return [_stem(dictionary, w) for w in words(text) if w not in stop]


@lru_cache(maxsize=100_000)
def _stem(dictionary: Dictionary, word: str) -> str:
    """Cached: snowballstemmer is pure Python (~0.1 ms a word) and a lecture repeats its vocabulary."""
    stemmer = _stemmer(dictionary)
    return str(stemmer.stemWord(word)) if stemmer is not None else word


def searchable(query: str) -> bool:
    """At least one word that is neither an English nor a Russian stop word: else nothing could match."""
    return any(w not in stop_words("english") and w not in stop_words("russian") for w in words(query))
