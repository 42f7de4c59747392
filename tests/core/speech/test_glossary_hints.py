"""Guarded hotwords: a term the hinted decode wrote is kept only where the plain decode heard something like it.

The unit tests build the two decodes by hand (word probabilities as faster-whisper's alignment pass gives
them); the media tests run the real transcribe stage (bundled base model, Silero VAD, integrity gate) on
generated speech with and without the terms: issue 20's measure in small (bench/glossary.py is the full one).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from leap_core.config import Settings
from leap_core.pipeline import work
from leap_core.speech.glossary import Glossary, GlossaryTerm
from leap_core.speech.glossary_hints import MIN_PROBABILITY, hotword_text, merge_hints
from leap_core.speech.glossary_match import normalised
from leap_core.speech.transcript import Segment, Transcript, Word
from tests.fixtures.nonspeech import stage_input
from tests.fixtures.voices import NATURAL_JUDGING, TUNING_TEXT, flite_available, speak

TERMS = Glossary(terms=[GlossaryTerm(term="Dijkstra"), GlossaryTerm(term="PostgreSQL"),
                        GlossaryTerm(term="Raft"), GlossaryTerm(term="Hoare", sounds_like=["hoar"])])
NAMES = ("Dijkstra", "Kubernetes", "PostgreSQL", "Levenshtein", "Nyquist", "Kolmogorov", "Tarjan", "Huffman",
         "Lagrangian", "Bayesian", "Paxos", "Raft", "Lamport", "Byzantine", "Hoare", "Karatsuba", "Chebyshev",
         "Minkowski", "Prolog", "Erlang", "Kerberos", "Hadoop", "Dirichlet")
"""Names none of the media tests' term-free sentences says."""


def decode(*segments: str, probability: float = 0.9, unsure: tuple[str, ...] = ()) -> Transcript:
    """Segments 10 s apart, words 0.4 s apart; words in `unsure` get probability 0.05."""
    out = []
    for i, text in enumerate(segments):
        words = [Word(start=i * 10 + n * 0.4, end=i * 10 + n * 0.4 + 0.3, text=t,
                      probability=0.05 if t.strip(".,") in unsure else probability)
                 for n, t in enumerate(text.split())]
        out.append(Segment(start=i * 10, end=words[-1].end, text=text, words=words))
    return Transcript(language="en", duration=10.0 * len(segments), backend="local", model="test", segments=out)


def said(transcript: Transcript, term: str) -> int:
    return [normalised(w) for w in transcript.text.split()].count(normalised(term))


def test_a_hinted_term_the_unhinted_model_finds_plausible_replaces_what_the_plain_decode_heard() -> None:
    plain = decode("Today we run the next algorithm on the graph.")
    hinted = decode("Today we run the Dijkstra algorithm on the graph.", probability=MIN_PROBABILITY + 0.1)
    merged, report = merge_hints(plain, hinted, TERMS)
    assert merged.segments[0].text == "Today we run the Dijkstra algorithm on the graph."
    assert merged.segments[0].words[4] == hinted.segments[0].words[4]
    assert [(e["plain"], e["hinted"]) for e in report.accepted] == [("next", "Dijkstra")] and not report.rejected


def test_an_unlikely_hinted_term_is_taken_only_where_the_plain_words_sound_like_it_or_its_variant() -> None:
    plain = decode("Then post gress SQL stores the rows, and her logic proves it, and I'd like that.")
    hinted = decode("Then PostgreSQL stores the rows, and Hoare logic proves it, and Dijkstra that.",
                    unsure=("PostgreSQL", "Hoare", "Dijkstra"))
    merged, report = merge_hints(plain, hinted, TERMS)
    assert merged.segments[0].text == "Then PostgreSQL stores the rows, and Hoare logic proves it, and I'd like that."
    assert [e["hinted"] for e in report.accepted] == ["PostgreSQL", "Hoare"]
    assert [e["plain"] for e in report.rejected] == ["I'd like"]


def test_terms_written_where_none_was_said_are_rejected_and_the_plain_text_kept() -> None:
    """The insertions hotwords make on speech without the terms: over ordinary words, or over nothing."""
    plain = decode("Many students confuse graph colouring with sorting.", "Remember the hash table, please.")
    hinted = decode("Many students confuse Raft colouring with sorting.", "Remember the Dijkstra hash table, please.",
                    unsure=("Raft", "Dijkstra"))
    merged, report = merge_hints(plain, hinted, TERMS)
    assert merged == plain
    assert [e["plain"] for e in report.rejected] == ["graph", ""]
    assert report.metadata()["glossary_hints_rejected"] == 2


def test_only_terms_come_from_the_hinted_decode() -> None:
    """Where the decodes differ without a term the plain words stay: the hint never edits ordinary text."""
    plain = decode("We come back to Raft after the break, see you then.")
    hinted = decode("We come back to Raft after the brake, sea you than.")
    merged, report = merge_hints(plain, hinted, TERMS)
    assert merged == plain and not report.accepted and not report.rejected


def test_a_term_over_a_segment_boundary_lands_in_the_first_segment() -> None:
    plain = decode("The algorithm by dike", "stra is greedy.")
    hinted = decode("The algorithm by Dijkstra", "is greedy.")
    merged, _ = merge_hints(plain, hinted, TERMS)
    assert [s.text for s in merged.segments] == ["The algorithm by Dijkstra", "is greedy."]
    assert said(merged, "Dijkstra") == 1


def test_the_hotwords_are_the_terms_as_far_as_the_prompt_allows() -> None:
    many = Glossary(terms=[GlossaryTerm(term=f"Term{i:03d}") for i in range(200)])
    text = hotword_text(many)
    assert text.startswith("Term000, Term001") and len(text) <= 600 and "Term199" not in text
    assert hotword_text(TERMS) == "Dijkstra, PostgreSQL, Raft, Hoare"


@pytest.fixture(scope="module")
def natural() -> None:
    if not flite_available():
        pytest.skip("Flite is not installed (scripts/test installs it)")


def _stage(tmp_path: Path, text: str, glossary: Glossary) -> tuple[Transcript, dict[str, object]]:
    spoken = speak(NATURAL_JUDGING[0], text)
    request = dataclasses.replace(stage_input(tmp_path, spoken.path, Settings()),
                                  template={"glossary": glossary.model_dump()})
    output = work.transcribe(request)
    return Transcript.model_validate_json((tmp_path / "transcript.json").read_text()), output.metadata


@pytest.mark.usefixtures("natural")
def test_speech_without_the_terms_gets_none_of_them(tmp_path: Path) -> None:
    """The false-insertion check on real decoding: 23 names as hotwords over a linear-algebra lecture."""
    transcript, metadata = _stage(tmp_path, TUNING_TEXT, Glossary(terms=[GlossaryTerm(term=t) for t in NAMES]))
    assert {t: said(transcript, t) for t in NAMES if said(transcript, t)} == {}
    assert metadata["glossary_hints_accepted"] == 0 and metadata["model"] == "faster-whisper:base"
    assert "determinant" in transcript.text.lower()


@pytest.mark.usefixtures("natural")
def test_names_the_plain_decode_misses_come_back_through_the_hint(tmp_path: Path) -> None:
    text = ("Today we start with Paxos, which shows up in almost every exam. "
            "Please read the chapter on Kerberos before Thursday. "
            "The proof for Chebyshev takes about half a page. "
            "Last semester the project used Hadoop for the final demo.")
    names = ("Paxos", "Kerberos", "Chebyshev", "Hadoop")
    transcript, metadata = _stage(tmp_path, text, Glossary(terms=[GlossaryTerm(term=t) for t in names]))
    assert sum(min(said(transcript, t), 1) for t in names) >= 3
    assert isinstance(metadata["glossary_hints_accepted"], int) and metadata["glossary_hints_accepted"] >= 1
