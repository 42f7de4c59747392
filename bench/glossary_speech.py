"""Spoken glossary sentences transcribed by the local backend, cached: the input bench/glossary.py corrects.

Kept apart from the correction bench so tuning the matcher re-reads cached transcripts instead of
decoding again. Each (voice, term set) pair is one lecture of sentences that use every term three times;
each voice also reads speech with no term in it (`term_free`: the same sentence frames around ordinary
topics, between sentences of Python's reference prose), where every glossary term the decoder writes is
an insertion, and the judging voices read `fresh_free` (standard-library docstrings), which nobody
looked at before the hint guard's thresholds were fixed. Transcripts (LEAP's local backend, the model
and hotwords given) are cached as JSON beside the audio.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
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
"""A different set, never looked at while tuning the spelling matcher; the hint guard's probability bar was
then set after a probe of its term-free speech, so it is not fully blind (bench/README)."""
FRESH_TERMS = (
    "Kruskal", "Karnaugh", "Voronoi", "Cholesky", "Viterbi", "Nagle", "Hamming", "Fourier", "Heaviside",
    "Laplacian", "Memcached", "Nginx", "Kafka", "Ansible", "Cassandra",
)
"""The third set (session 10), with its own frames, voices (tests.fixtures.voices.GLOSSARY_FRESH) and
term-free text, written down and committed before any of it was synthesised or decoded: the ≥ 90 %
figure is judged here."""

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
FRESH_FRAMES = (
    "The textbook introduces {t} in its fourth chapter.",
    "If you only remember one thing today, make it {t}.",
    "My colleague gave a whole seminar about {t} last spring.",
    "We will need {t} again when we talk about performance.",
    "Write down {t} and put a star next to it.",
    "A typical interview question asks about {t}.",
    "The lab machines already have {t} installed for you.",
    "Think of {t} as a tool rather than a rule.",
    "The assignment deadline for {t} is next Friday.",
    "Some of you asked me about {t} during office hours.",
    "Our guest speaker worked on {t} for many years.",
    "The diagram on the right shows {t} in action.",
)
"""The third set's own sentence frames: none of FRAMES, so nothing about them was seen while tuning."""
FOURTH_TERMS = (
    "Amdahl", "Dekker", "Tukey", "Dantzig", "Hopcroft", "Bresenham", "Rijndael", "Kademlia", "Mandelbrot",
    "Gustafson", "Lisp", "Fortran", "Docker", "Redis", "Grafana",
)
"""The fourth set (session 10), written down before any of it was decoded and after the third set's
figure had shown the hint guard too strict: the guard's change is judged here, not on the third set."""
FOURTH_FRAMES = (
    "Before the quiz, revise what we said about {t}.",
    "The second half of the lecture is mostly about {t}.",
    "You will find {t} in the appendix of the notes.",
    "A common mistake is to forget {t} entirely.",
    "Next week's reading explains {t} in more depth.",
    "The example on the handout uses {t} twice.",
    "I first learned about {t} as a student myself.",
    "Compare {t} with the method from last week.",
    "The exam usually has one question on {t}.",
    "Let me draw a picture of {t} for you.",
    "People in industry talk about {t} all the time.",
    "Keep {t} in mind for the group project.",
)
FIFTH_TERMS = (
    "Knuth", "Markov", "Jacobian", "Riemann", "Cauchy", "Bellman", "Ackermann", "Hilbert", "Euclid",
    "Kotlin", "Terraform", "Nakamoto", "Tanenbaum", "Wireshark", "Hamiltonian",
)
"""The fifth set (session 11), written down and committed before any of it was synthesised or decoded, and
before any change to the hint guard was tried: a guard changed after looking at the first four sets is
judged here."""
FIFTH_FRAMES = (
    "Halfway through the course we finally reach {t}.",
    "The homework solutions mention {t} in the last part.",
    "Nobody expects {t} to be this simple at first.",
    "We spent the whole tutorial on {t} last time.",
    "There is a famous paper that starts with {t}.",
    "Try to explain {t} to a friend in one minute.",
    "The slides from the morning session cover {t}.",
    "In the lab you will use {t} on real data.",
    "Historically {t} came before most of what we study.",
    "Put a question mark wherever {t} confuses you.",
    "The best summary of {t} is on page twelve.",
    "Tomorrow the teaching assistant will go over {t}.",
)
"""The fifth set's own frames: none of the earlier sets' frames."""
USES = 3


def sentences(terms: tuple[str, ...], frames: tuple[str, ...] = FRAMES) -> list[str]:
    """Each term three times, in three different frames; neighbouring sentences never share a frame."""
    return [frames[(i + 5 * use) % len(frames)].format(t=term)
            for use in range(USES) for i, term in enumerate(terms)]


FILLERS = (
    "recursion", "the hash table", "binary search", "the stack", "merge sort", "linked lists", "the compiler",
    "graph colouring", "dynamic programming", "the scheduler", "matrix multiplication", "the network layer",
    "garbage collection", "the parser", "random sampling", "the cache", "page tables", "the heap",
    "regular expressions", "the file system",
)
"""Ordinary topics in the term's place: the frames a glossary term is usually said in, said without one."""
_PLAIN_SENTENCE = re.compile(r"[A-Za-z ,;'\-]+\.")


def _spoken_sentences(text: str) -> list[str]:
    """Sentences of 8-30 plain words (no code, digits or brackets): prose a lecturer could read aloud."""
    return [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
            if 8 <= len(s.split()) <= 30 and _PLAIN_SENTENCE.fullmatch(s)]


def term_free(index: int, readers: int) -> str:
    """Reader `index` of `readers`: every `readers`-th reference-prose sentence, between 36 filled frames."""
    from pydoc_data.topics import topics

    prose = _spoken_sentences(" ".join(topics[k] for k in sorted(topics)))[index::readers]
    frames = [FRAMES[(i + index) % len(FRAMES)].format(t=FILLERS[(i * 7 + index) % len(FILLERS)])
              for i in range(36)]
    mixed: list[str] = []
    for i in range(max(len(prose), len(frames))):
        mixed += prose[i : i + 1] + frames[i : i + 1]
    return " ".join(mixed)


def fresh_free(index: int, readers: int, words: int = 750, pattern: str = "*.py") -> str:
    """About `words` words of standard-library docstrings for reader `index`: held out from the hint guard.
    `pattern` picks the modules: the top level ("*.py"), or the packages ("*/*.py", the third set's)."""
    sentences_: list[str] = []
    for path in sorted(Path(ast.__file__).parent.glob(pattern)):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef))]
        sentences_ += _spoken_sentences(" ".join(doc for n in nodes if (doc := ast.get_docstring(n))))
    out: list[str] = []
    for sentence in sentences_[index::readers]:
        if sum(len(s.split()) for s in out) >= words:
            break
        out.append(sentence)
    return " ".join(out)


def transcript(voice: Voice, terms: tuple[str, ...], model: str = "tiny.en",
               hotwords: str | None = None, frames: tuple[str, ...] = FRAMES) -> tuple[Transcript, str]:
    """The local backend's transcript of `voice` reading sentences with `terms`, and the text it read."""
    text = " ".join(sentences(terms, frames))
    return decoded(voice, text, model, hotwords), text


def decoded(voice: Voice, text: str, model: str = "tiny.en", hotwords: str | None = None) -> Transcript:
    """`text` read by `voice`, transcribed by LEAP's local backend with `model` and `hotwords`, cached."""
    setup = [voice.__dict__, text] if model == "tiny.en" and not hotwords else [voice.__dict__, text, model, hotwords]
    key = hashlib.sha256(json.dumps(setup).encode()).hexdigest()[:16]
    cached = CACHE / f"{voice.name}-{key}.json"
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        spoken = speak(voice, text)
        transcriber = LocalWhisperTranscriber(model=model, hotwords=hotwords)
        result = transcriber.transcribe(spoken.path, work_dir=CACHE / f"work-{key}")
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(result.model_dump_json(), encoding="utf-8")
        tmp.replace(cached)
    return Transcript.model_validate_json(cached.read_text(encoding="utf-8"))


def occurrences(text: str, term: str) -> int:
    """How often `term` appears as whole words, ignoring case and punctuation."""
    words = [normalised(w) for w in text.split()]
    size = len(term.split())
    key = normalised(term)
    return sum(1 for i in range(len(words) - size + 1) if "".join(words[i : i + size]) == key)
