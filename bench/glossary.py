"""Glossary terms in speech: `python bench/glossary.py`.

Right terms: espeak-ng and Flite voices read sentences that use each glossary term three times
(bench/glossary_speech.py), the local backend transcribes them with tiny.en and with base, plain and with
the terms as hotwords, and the share of term uses spelled right is counted as decoded (the reference,
same run), after `apply_glossary` (LEAP before hints), for the hinted decode unguarded, and for LEAP's
guarded merge (`merge_hints`, then `apply_glossary`). False terms: the same voices read speech without
any term (and the judging voices also fresh docstrings); every term in those transcripts is inserted.
The matcher's thresholds were chosen on the TUNING voices with TUNING_TERMS; the JUDGING rows are other
voices reading other terms. The glossaries carry `sounds_like` respellings written from the names'
pronunciation before any judging transcript was looked at (JUDGING_SOUNDS). The FRESH rows (session 10)
are a third set — terms, sentence frames, voices, term-free text and respellings all new — committed
before any of it was decoded, since the JUDGING set had been looked at while the hint guard was tuned.
The FOURTH and FIFTH sets (sessions 10 and 11) were each committed the same way before any of their speech
was made, the fifth before any change to the guard was tried on the first four.
`--sets` and `--models` pick the rows.

False corrections: Python's own reference prose (`pydoc_data.topics` and the standard library's docstrings, no
glossary term in them) cut into 20-word segments and corrected with all terms of every set; every rewrite is false.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.glossary_speech import (  # noqa: E402
    FIFTH_FRAMES,
    FIFTH_TERMS,
    FILLERS,
    FOURTH_FRAMES,
    FOURTH_TERMS,
    FRAMES,
    FRESH_FRAMES,
    FRESH_TERMS,
    JUDGING_TERMS,
    TUNING_TERMS,
    USES,
    decoded,
    fresh_free,
    occurrences,
    term_free,
    transcript,
)
from leap_core.speech.glossary import Glossary, GlossaryTerm  # noqa: E402
from leap_core.speech.glossary_hints import hotword_text, merge_hints  # noqa: E402
from leap_core.speech.glossary_match import apply_glossary  # noqa: E402
from leap_core.speech.transcript import Segment, Transcript  # noqa: E402
from tests.fixtures.voices import GLOSSARY_FIFTH, GLOSSARY_FOURTH, GLOSSARY_FRESH, JUDGING, TUNING, Voice  # noqa: E402

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
FRESH_SOUNDS = {
    "Kruskal": ["crus kal"], "Karnaugh": ["car no"], "Voronoi": ["voro noy"], "Cholesky": ["ko lesky"],
    "Viterbi": ["vit erbi"], "Nagle": ["nay gull"], "Heaviside": ["heavy side"], "Laplacian": ["la placian"],
    "Memcached": ["mem cashed"], "Nginx": ["engine x"],
}
"""The third set's respellings, as a lecturer would write them, fixed before any of its speech was made."""
FOURTH_SOUNDS = {
    "Rijndael": ["rain dahl"], "Dantzig": ["dant sig"], "Kademlia": ["ka dem lia"], "Bresenham": ["bresen ham"],
    "Amdahl": ["am dahl"], "Tukey": ["too key"], "Redis": ["red iss"],
}
"""The fourth set's respellings, fixed before any of its speech was made."""
FIFTH_SOUNDS = {
    "Knuth": ["ka nooth"], "Cauchy": ["co shee"], "Riemann": ["ree mahn"], "Ackermann": ["acker man"],
    "Nakamoto": ["naka moto"], "Tanenbaum": ["tannen baum"], "Jacobian": ["ja co bian"],
}
"""The fifth set's respellings, fixed before any of its speech was made."""
READERS = len(TUNING) + len(JUDGING)
"""Each voice reads its own share of the term-free prose (bench.glossary_speech.term_free)."""


def glossary(terms: tuple[str, ...], sounds: dict[str, list[str]] | None = None) -> Glossary:
    return Glossary(terms=[GlossaryTerm(term=t, sounds_like=(sounds or {}).get(t, [])) for t in terms])


def right(text: str, terms: tuple[str, ...], uses: int = 3) -> tuple[int, int]:
    return sum(min(occurrences(text, t), uses) for t in terms), uses * len(terms)


MODELS = ("tiny.en", "base")
"""The bundled English model (LEAP's default) and the bundled multilingual one (LEAP's `glossary_model`)."""


@dataclass
class Tally:
    right: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    total: int = 0
    inserted: list[int] = field(default_factory=lambda: [0, 0, 0])
    words: int = 0

    def add_right(self, values: list[int], total: int) -> None:
        self.right = [a + b for a, b in zip(self.right, values, strict=True)]
        self.total += total

    def add_inserted(self, values: list[int], words: int) -> None:
        self.inserted = [a + b for a, b in zip(self.inserted, values, strict=True)]
        self.words += words


def _versions(plain: Transcript, hinted: Transcript, terms: Glossary) -> list[Transcript]:
    """As decoded; corrected (LEAP before hints); hinted and corrected, unguarded; merged and corrected (LEAP)."""
    merged, _ = merge_hints(plain, hinted, terms)
    return [plain, *(apply_glossary(t, terms)[0] for t in (plain, hinted, merged))]


def _inserted(text: str, terms: tuple[str, ...]) -> int:
    return sum(occurrences(text, t) for t in terms)


def framed_term_free(frames: tuple[str, ...], index: int, readers: int, pattern: str) -> list[str]:
    """A later set's term-free speech: its own frames around ordinary topics, then docstrings of `pattern`."""
    framed = " ".join(frames[(i + index) % len(frames)].format(t=FILLERS[(i * 3 + index) % len(FILLERS)])
                      for i in range(24))
    return [framed, fresh_free(index, readers, pattern=pattern)]


@dataclass(frozen=True)
class SpeechSet:
    """One row group of the table: who reads which terms in which frames, and what they read without terms."""

    role: str
    voices: tuple[Voice, ...]
    terms: tuple[str, ...]
    sounds: dict[str, list[str]]
    frames: tuple[str, ...]
    free: Callable[[int], list[str]]
    """Voice number -> the term-free texts that voice reads."""


SETS = {
    "tuning": SpeechSet("tuning", TUNING, TUNING_TERMS, TUNING_SOUNDS, FRAMES,
                        lambda n: [term_free(n, READERS)]),
    "judging": SpeechSet("judging", JUDGING, JUDGING_TERMS, JUDGING_SOUNDS, FRAMES,
                         lambda n: [term_free(len(TUNING) + n, READERS), fresh_free(n, len(JUDGING))]),
    "fresh": SpeechSet("fresh", GLOSSARY_FRESH, FRESH_TERMS, FRESH_SOUNDS, FRESH_FRAMES,
                       lambda n: framed_term_free(FRESH_FRAMES, n, len(GLOSSARY_FRESH), "*/*.py")),
    "fourth": SpeechSet("fourth", GLOSSARY_FOURTH, FOURTH_TERMS, FOURTH_SOUNDS, FOURTH_FRAMES,
                        lambda n: framed_term_free(FOURTH_FRAMES, n, len(GLOSSARY_FOURTH), "*/*/*.py")),
    "fifth": SpeechSet("fifth", GLOSSARY_FIFTH, FIFTH_TERMS, FIFTH_SOUNDS, FIFTH_FRAMES,
                       lambda n: framed_term_free(FIFTH_FRAMES, n, len(GLOSSARY_FIFTH), "*/*/*/*.py")),
}


def speech_rows(model: str, group: SpeechSet) -> tuple[list[tuple[str, ...]], Tally]:
    rows = []
    tally = Tally()
    terms = group.terms
    every = glossary(terms, group.sounds)
    hint = hotword_text(every)
    for n, voice in enumerate(group.voices):
        plain, _ = transcript(voice, terms, model, frames=group.frames)
        hinted, _ = transcript(voice, terms, model, hint, frames=group.frames)
        right_counts = [right(t.text, terms)[0] for t in _versions(plain, hinted, every)]
        total = USES * len(terms)
        tally.add_right(right_counts, total)
        free = group.free(n)
        inserted = [0, 0, 0]
        for text in free:
            versions = _versions(decoded(voice, text, model), decoded(voice, text, model, hint), every)
            inserted = [a + _inserted(t.text, terms) for a, t in zip(inserted, versions[1:], strict=True)]
        words = sum(len(t.split()) for t in free)
        tally.add_inserted(inserted, words)
        rows.append((group.role, model, voice.name, *(f"{r / total:.0%}" for r in right_counts),
                     *(str(i) for i in inserted), str(words)))
    t = tally
    rows.append((group.role, model, "**all**", *(f"{r / t.total:.1%}" for r in t.right),
                 *(f"{i} ({i / t.words * 10_000:.1f})" for i in t.inserted), str(t.words)))
    return rows, t


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
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    args = parser.parse_args()
    print("| set | model | voice | right, as decoded (reference) | corrected | hinted, unguarded | "
          "**guarded (LEAP)** | false terms: corrected | unguarded | **guarded** | term-free words |")
    print("| --- " * 11 + "|")
    for model in args.models:
        for name in args.sets:
            for row in speech_rows(model, SETS[name])[0]:
                print("| " + " | ".join(row) + " |", flush=True)
    text = prose()
    every = glossary(tuple(t for group in SETS.values() for t in group.terms),
                     {k: v for group in SETS.values() for k, v in group.sounds.items()})
    started = time.perf_counter()
    _, report = apply_glossary(text, every)
    elapsed = time.perf_counter() - started
    words = text.word_count
    print(f"\nfalse corrections: {len(report.corrections)} in {words} words "
          f"({len(report.corrections) / words * 10_000:.2f} per 10,000) in {elapsed:.1f} s; "
          f"{report.corrections[:10]}")


if __name__ == "__main__":
    main()
