"""Word error rate, normalised the way Whisper's own evaluation normalises transcripts.

"Twenty-one", "21" and "21." are the same words to a reader, and so are "it's" / "it is", "colour" /
"color", "first" / "1st". A WER that counts those as errors measures the normaliser, not the decoder, so
both sides go through Whisper's `EnglishTextNormalizer` (from the `whisper-normalizer` package, the same
rules OpenAI's paper used) for English and its `BasicTextNormalizer` (case, punctuation, symbols;
Cyrillic kept) for every other language. Used by the speech benchmark and the tests' WER bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np


@cache
def _normaliser(language: str) -> Callable[[str], str]:
    if language == "en":
        from whisper_normalizer.english import EnglishTextNormalizer

        return EnglishTextNormalizer()
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()


def normalise(text: str, language: str = "en") -> list[str]:
    return _normaliser(language)(text).split()


def word_error_rate(reference: str, hypothesis: str, language: str = "en") -> float:
    """(substitutions + deletions + insertions) / reference words, after normalising both."""
    ref, hyp = normalise(reference, language), normalise(hypothesis, language)
    if not ref:
        return 0.0 if not hyp else 1.0
    vocab = {w: i for i, w in enumerate(dict.fromkeys(ref + hyp))}
    r = np.array([vocab[w] for w in ref])
    h = np.array([vocab[w] for w in hyp])
    cols = np.arange(len(h) + 1)
    row = cols.astype(np.int64)
    for i, word in enumerate(r, start=1):
        # Substitution or match from the diagonal, deletion from above; insertion (from the left) is a
        # running minimum of (cost - column) + column, which keeps each row vectorised.
        best = np.empty_like(row)
        best[0] = i
        best[1:] = np.minimum(row[:-1] + (h != word), row[1:] + 1)
        row = np.minimum.accumulate(best - cols) + cols
    return float(row[-1]) / len(ref)
