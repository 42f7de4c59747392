"""Glossary spelling after decoding: `python bench/glossary.py`.

Right terms: espeak-ng reads sentences that use each glossary term three times (bench/glossary_speech.py),
the local backend (tiny.en) transcribes them, and the share of term uses spelled right is counted before
(the reference, same run) and after `apply_glossary`. The thresholds were chosen on the TUNING voices
with TUNING_TERMS; the JUDGING rows are other voices reading other terms. Each glossary is given twice:
names only, and with `sounds_like` respellings written from the names' pronunciation before any
judging transcript was looked at (JUDGING_SOUNDS).

False corrections: Python's own reference prose (`pydoc_data.topics` and the standard library's docstrings, no
glossary term in them) cut into 20-word segments and corrected with all terms of both sets; every rewrite is false.
"""

from __future__ import annotations

import ast
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.glossary_speech import JUDGING_TERMS, TUNING_TERMS, occurrences, transcript  # noqa: E402
from leap_core.speech.glossary import Glossary, GlossaryTerm  # noqa: E402
from leap_core.speech.glossary_match import apply_glossary  # noqa: E402
from leap_core.speech.transcript import Segment, Transcript  # noqa: E402
from tests.fixtures.voices import JUDGING, TUNING, Voice  # noqa: E402

TUNING_SOUNDS = {
    "Dijkstra": ["dike stra"], "Kubernetes": ["cooper netties"], "PostgreSQL": ["post gres q l", "post gress"],
    "Levenshtein": ["leaven stine"], "Nyquist": ["nye quist"], "Kolmogorov": ["kolmo gorov"],
    "Lagrangian": ["la grangian"], "Bayesian": ["bay zian"],
}
JUDGING_SOUNDS = {
    "Paxos": ["paxus"], "Hoare": ["hoar"], "Karatsuba": ["kara tsuba"], "Chebyshev": ["cheby shev"],
    "Kerberos": ["cur bear us"], "Hadoop": ["ha doop"], "Dirichlet": ["dirich lay", "dear ish lay"],
    "memoization": ["memo ization"], "Prolog": ["pro log"],
}
"""Respellings from how the names are said, fixed before the judging transcripts were read."""


def glossary(terms: tuple[str, ...], sounds: dict[str, list[str]] | None = None) -> Glossary:
    return Glossary(terms=[GlossaryTerm(term=t, sounds_like=(sounds or {}).get(t, [])) for t in terms])


def right(text: str, terms: tuple[str, ...], uses: int = 3) -> tuple[int, int]:
    return sum(min(occurrences(text, t), uses) for t in terms), uses * len(terms)


def speech_rows(voices: tuple[Voice, ...], terms: tuple[str, ...], sounds: dict[str, list[str]],
                role: str) -> list[tuple[str, ...]]:
    rows = []
    totals = [0, 0, 0, 0]
    for voice in voices:
        heard, _ = transcript(voice, terms)
        before, total = right(heard.text, terms)
        plain, _ = right(apply_glossary(heard, glossary(terms))[0].text, terms)
        fixed, report = apply_glossary(heard, glossary(terms, sounds))
        after, _ = right(fixed.text, terms)
        for i, v in enumerate((before, plain, after, total)):
            totals[i] += v
        rows.append((role, voice.name, f"{before / total:.0%}", f"{plain / total:.0%}", f"{after / total:.0%}",
                     str(len(report.corrections))))
    b, p, a, t = totals
    rows.append((role, "all", f"{b / t:.1%}", f"{p / t:.1%}", f"{a / t:.1%}", ""))
    return rows


def _docstrings() -> list[str]:
    """Every docstring of the standard library's top-level modules: English prose about software."""
    out = []
    for path in sorted(Path(ast.__file__).parent.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef))]
        out += [doc for n in nodes if (doc := ast.get_docstring(n))]
    return out


def prose() -> Transcript:
    from pydoc_data.topics import topics

    text = " ".join([*topics.values(), *_docstrings()])
    words = [w for w in re.sub(r"[^\w.,;:'-]+", " ", text).split() if any(c.isalpha() for c in w)]
    segments = [Segment(start=i / 3, end=(i + 20) / 3, text=" ".join(words[i : i + 20]))
                for i in range(0, len(words), 20)]
    return Transcript(language="en", duration=len(words) / 3, backend="text", model="pydoc", segments=segments)


def main() -> None:
    print("| set | voice | right, as decoded (reference) | right, names only | right, with sounds_like | rewrites |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in (speech_rows(TUNING, TUNING_TERMS, TUNING_SOUNDS, "tuning")
                + speech_rows(JUDGING, JUDGING_TERMS, JUDGING_SOUNDS, "judging")):
        print("| " + " | ".join(row) + " |")
    text = prose()
    every = glossary(TUNING_TERMS + JUDGING_TERMS, {**TUNING_SOUNDS, **JUDGING_SOUNDS})
    started = time.perf_counter()
    _, report = apply_glossary(text, every)
    elapsed = time.perf_counter() - started
    words = text.word_count
    print(f"\nfalse corrections: {len(report.corrections)} in {words} words "
          f"({len(report.corrections) / words * 10_000:.2f} per 10,000) in {elapsed:.1f} s; "
          f"{report.corrections[:10]}")


if __name__ == "__main__":
    main()
