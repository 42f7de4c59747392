"""Spoken glossary sentences transcribed by the local backend, cached: the input bench/glossary.py corrects.

Kept apart from the correction bench so tuning the matcher re-reads cached transcripts instead of
decoding again. Each (voice, term set) pair is one espeak-ng lecture of sentences that use every term
three times; the transcript (tiny.en, LEAP's local backend) is cached as JSON beside the audio.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leap_core.speech.glossary_match import normalised  # noqa: E402
from leap_core.speech.local_whisper import LocalWhisperTranscriber  # noqa: E402
from leap_core.speech.transcript import Transcript  # noqa: E402
from tests.fixtures.voices import Voice, speak  # noqa: E402

CACHE = ROOT / "tests" / ".media-cache" / "bench" / "glossary"

TUNING_TERMS = (
    "Dijkstra", "Kubernetes", "PostgreSQL", "Levenshtein", "Nyquist", "Kolmogorov", "Tarjan", "Huffman",
    "Lagrangian", "Bayesian", "Haskell", "Fibonacci",
)
"""Names and jargon the matcher's thresholds were chosen on (with the TUNING voices)."""
JUDGING_TERMS = (
    "Paxos", "Raft", "Lamport", "Byzantine", "memoization", "Hoare", "Karatsuba", "Chebyshev", "Minkowski",
    "Prolog", "Erlang", "Ethernet", "Kerberos", "Hadoop", "Dirichlet",
)
"""A different set, never looked at while tuning: the ≥ 90 % figure is measured on these."""

FRAMES = (
    "Today we start with {t}, which shows up in almost every exam.",
    "Remember that {t} was the answer to the second homework question.",
    "On the next slide {t} appears in the top left corner.",
    "Many students confuse {t} with something they saw last year.",
    "Please read the chapter on {t} before Thursday.",
    "The proof for {t} takes about half a page.",
    "I will write {t} on the board so you can copy it.",
    "Last semester the project used {t} for the final demo.",
    "Ask yourself why {t} matters for the running time.",
    "There is a short video about {t} on the course website.",
    "We come back to {t} after the break.",
    "Your notes should say {t} next to the first diagram.",
)
"""Varied on purpose: the same sentence repeated inside one 30 s window trips the hallucination filter
(compression ratio), which would measure the filter instead of the glossary."""
USES = 3


def sentences(terms: tuple[str, ...]) -> list[str]:
    """Each term three times, in three different frames; neighbouring sentences never share a frame."""
    return [FRAMES[(i + 5 * use) % len(FRAMES)].format(t=term)
            for use in range(USES) for i, term in enumerate(terms)]


def transcript(voice: Voice, terms: tuple[str, ...]) -> tuple[Transcript, str]:
    """The local backend's transcript of `voice` reading sentences with `terms`, and the text it read."""
    text = " ".join(sentences(terms))
    key = hashlib.sha256(json.dumps([voice.__dict__, text]).encode()).hexdigest()[:16]
    cached = CACHE / f"{voice.name}-{key}.json"
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        spoken = speak(voice, text)
        result = LocalWhisperTranscriber().transcribe(spoken.path, work_dir=CACHE / f"work-{key}")
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(result.model_dump_json(), encoding="utf-8")
        tmp.replace(cached)
    return Transcript.model_validate_json(cached.read_text(encoding="utf-8")), text


def occurrences(text: str, term: str) -> int:
    """How often `term` appears as whole words, ignoring case and punctuation."""
    words = [normalised(w) for w in text.split()]
    size = len(term.split())
    key = normalised(term)
    return sum(1 for i in range(len(words) - size + 1) if "".join(words[i : i + size]) == key)
