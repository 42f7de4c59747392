"""How particular a key phrase is to this lecture rather than to the language in general.

A lecture's most repeated content words include greetings and fillers ("morning", "please",
"already") that no stop-word list holds in full. wordfreq's Zipf frequency says how common a word is in
general text of the transcript's language (English, Russian and 40 others, offline), so a keyword's score
is scaled by how rare its words are there: "replication" (Zipf 3.2) outranks "morning" (4.9). It is the
IDF of TF-IDF with the language itself as the background corpus.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

Phrase = tuple[str, ...]

COMMON_ZIPF = 6.0
"""A word this common ("the") gets no weight at all; every step of rarity below adds one."""


@cache
def zipf(word: str, language: str) -> float:
    """wordfreq's Zipf frequency (log10 of uses per billion words); 0 for an unknown word or language."""
    from wordfreq import zipf_frequency  # deferred: ~1 s to load a language's list, once per process

    try:
        return float(zipf_frequency(word, language))
    except (LookupError, ValueError):
        return 0.0


def rarity(word: str, language: str) -> float:
    """COMMON_ZIPF minus the word's Zipf frequency, floored at 0.1; unknown words (names) get the most."""
    return max(0.1, COMMON_ZIPF - zipf(word, language))


def base_language(language: str | None) -> str:
    lang = (language or "en").split("-")[0]
    return "en" if lang == "auto" else lang


def general_weights(spelled: Mapping[Phrase, str], language: str) -> dict[Phrase, float]:
    """Each phrase's mean rarity, looked up by how it was spelled (a stem is not a word of the language)."""
    lang = base_language(language)
    return {p: sum(rarity(w, lang) for w in text.split()) / max(len(text.split()), 1) for p, text in spelled.items()}
