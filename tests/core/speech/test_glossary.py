"""The course glossary: validation at save, the CLI file format, and the guarded spelling after decoding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leap_core.errors import ValidationError
from leap_core.speech.glossary import Glossary, GlossaryTerm, parse_glossary_file, validate_glossary
from leap_core.speech.glossary_match import apply_glossary
from leap_core.speech.transcript import Segment, Transcript, Word
from tests.fixtures.voices import JUDGING_TEXT, TUNING_TEXT
from tests.support.cli import leap as run_leap

TERMS = Glossary(terms=[GlossaryTerm(term="Kubernetes"), GlossaryTerm(term="PostgreSQL"),
                        GlossaryTerm(term="Raft"), GlossaryTerm(term="Dijkstra", sounds_like=["dike stra"]),
                        GlossaryTerm(term="Levenshtein")])


def transcript(*texts: str) -> Transcript:
    segments = []
    for i, text in enumerate(texts):
        tokens = text.split()
        words = [Word(start=i * 10 + n * 0.4, end=i * 10 + n * 0.4 + 0.3, text=t) for n, t in enumerate(tokens)]
        segments.append(Segment(start=i * 10, end=i * 10 + len(tokens) * 0.4, text=text, words=words))
    return Transcript(language="en", duration=10.0 * len(texts), backend="test", model="test", segments=segments)


@pytest.mark.parametrize(("raw", "message"), [
    ({"terms": "Dijkstra"}, "glossary terms must be a list"),
    ({"words": []}, 'glossary must be {"terms": [...]}'),
    ({"terms": [{"term": ""}]}, "glossary term 1 must be non-empty text"),
    ({"terms": [{"term": "x" * 61}]}, "longer than 60 characters"),
    ({"terms": [{"term": "a b c d e"}]}, "or 4 words"),
    ({"terms": [{"term": "Raft", "sounds_like": "raft"}]}, "sounds_like must be a list of at most 5"),
    ({"terms": [{"term": "Raft", "spelling": "x"}]}, "unknown field(s) spelling"),
    ({"terms": ["Raft", "raft"]}, "glossary lists 'raft' twice"),
    ({"terms": ["123"]}, "has no letters"),
    ({"terms": [f"term{i}" for i in range(501)]}, "glossary has 501 terms; at most 500"),
])
def test_a_bad_glossary_is_refused_with_a_one_line_reason(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_glossary(raw)
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_the_glossary_file_is_json_or_one_term_a_line_with_variants() -> None:
    text = "# course terms\nDijkstra | dike stra | dyke straw\nKubernetes\n\n"
    assert parse_glossary_file(text) == {"terms": [
        {"term": "Dijkstra", "sounds_like": ["dike stra", "dyke straw"]}, {"term": "Kubernetes", "sounds_like": []}]}
    assert parse_glossary_file(json.dumps(["Raft"])) == {"terms": [{"term": "Raft", "sounds_like": []}]}
    assert parse_glossary_file("") == {}


def test_misheard_terms_are_respelled_keeping_punctuation_times_and_a_sentence_capital() -> None:
    heard = transcript("We deploy it on Cubernet. Then post -air SQL stores the rows,",
                       "the dike stra algorithm and leavenstein distance.")
    fixed, report = apply_glossary(heard, TERMS)
    assert fixed.segments[0].text == "We deploy it on Kubernetes. Then PostgreSQL stores the rows,"
    assert fixed.segments[1].text == "the Dijkstra algorithm and Levenshtein distance."
    merged = next(w for w in fixed.segments[0].words if w.text == "PostgreSQL")
    assert (merged.start, merged.end) == (heard.segments[0].words[6].start, heard.segments[0].words[8].end)
    assert report.found == {"Kubernetes": 1, "PostgreSQL": 1, "Dijkstra": 1, "Levenshtein": 1}
    assert [c["heard"] for c in report.corrections] == ["Cubernet.", "post-air SQL", "dike stra", "leavenstein"]
    assert report.metadata()["glossary_corrections"] == 4


def test_dictionary_words_and_code_are_never_rewritten() -> None:
    text = ("The raft floated down the river past the cube and the nets. Call str.join and os.path on it. "
            "Post your SQL question on the forum, please.")
    fixed, report = apply_glossary(transcript(text), TERMS)
    assert fixed.segments[0].text == text
    assert report.corrections == [] and report.found == {"Raft": 1}


def test_lecture_text_without_the_terms_gets_no_correction() -> None:
    """A cheap stand-in for the bench's 190,000-word false-correction count (bench/glossary.py)."""
    sentences = (TUNING_TEXT + " " + JUDGING_TEXT).split(". ")
    fixed, report = apply_glossary(transcript(*sentences), TERMS)
    assert report.corrections == []
    assert [s.text for s in fixed.segments] == sentences


def test_segments_without_word_timings_are_corrected_too() -> None:
    heard = Transcript(language="en", duration=5, backend="openai", model="whisper-1",
                       segments=[Segment(start=0, end=5, text="Raft is simpler than Paxus.")])
    glossary = Glossary(terms=[GlossaryTerm(term="Paxos")])
    fixed, _ = apply_glossary(heard, glossary)
    assert fixed.segments[0].text == "Raft is simpler than Paxos." and fixed.segments[0].words == []


@pytest.mark.usefixtures("cli_env")
def test_the_cli_reads_a_glossary_file_and_refuses_a_bad_one_in_one_line(tmp_path: Path) -> None:
    run_leap("init")
    assert run_leap("templates", "add", "lectures", "--target", "local")[0] == 0
    good = tmp_path / "glossary.txt"
    good.write_text("Dijkstra | dike stra\nKubernetes\n", encoding="utf-8")
    code, out, _ = run_leap("templates", "update", "lectures", "--glossary", str(good), "--json")
    assert code == 0 and [t["term"] for t in json.loads(out)["glossary"]["terms"]] == ["Dijkstra", "Kubernetes"]
    bad = tmp_path / "bad.txt"
    bad.write_text("Raft\nraft\n", encoding="utf-8")
    code, _, err = run_leap("templates", "update", "lectures", "--glossary", str(bad))
    assert code == 1 and err.strip() == "error: glossary lists 'raft' twice"
    code, out, _ = run_leap("templates", "show", "lectures", "--json")
    assert json.loads(out)["glossary"]["terms"][0] == {"term": "Dijkstra", "sounds_like": ["dike stra"]}
