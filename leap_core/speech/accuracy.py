"""Word error rate, normalised the way transcripts are compared fairly.

"Twenty-one", "21" and "21." are the same words to a reader, so case, punctuation and number words are
normalised before counting (as in Whisper's evaluation). Used by the speech benchmark and by anyone
checking a larger local model against a reference transcript.
"""

from __future__ import annotations

import re

import numpy as np

_ONES_TEXT = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen \
sixteen seventeen eighteen nineteen"
_ONES = _ONES_TEXT.split()
_TENS_TEXT = "_ _ twenty thirty forty fifty sixty seventy eighty ninety"
_TENS = _TENS_TEXT.split()


def number_words(n: int) -> str:
    """English words for 0 ≤ n < 10**9: enough for years, counts and page numbers in a lecture."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    for size, name in ((10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            high, rest = divmod(n, size)
            return f"{number_words(high)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise ValueError(n)


def normalise(text: str) -> list[str]:
    lowered = text.lower().replace("%", " percent ").replace("-", " ")
    lowered = re.sub(r"(?<=\d),(?=\d{3})", "", lowered)
    spelled = re.sub(r"\d{1,9}", lambda m: f" {number_words(int(m.group(0)))} ", lowered)
    return re.sub(r"[^\w\s']", " ", spelled).replace("'", "").split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, after normalising both."""
    ref, hyp = normalise(reference), normalise(hypothesis)
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
