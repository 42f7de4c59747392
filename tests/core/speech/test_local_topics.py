"""The offline extractor finds where a lecture changes subject and names each part by its key phrase."""

from __future__ import annotations

from leap_core.speech.local_topics import LocalTopicExtractor
from leap_core.speech.transcript import Segment, Transcript

PARTS = {
    "vectors": [
        "A vector has a direction and a magnitude.",
        "We add vectors tip to tail on the board.",
        "The vector space contains every linear combination.",
        "Scaling a vector changes its magnitude.",
        "Two vectors are orthogonal when their dot product vanishes.",
    ],
    "matrices": [
        "A matrix is a grid of numbers.",
        "Matrix multiplication combines rows with columns.",
        "The identity matrix leaves every input unchanged.",
        "A square matrix may have an inverse matrix.",
        "The transpose of a matrix swaps rows and columns.",
    ],
    "eigenvalues": [
        "An eigenvector keeps its direction under the transformation.",
        "The eigenvalue says how far the eigenvector stretches.",
        "The characteristic polynomial yields the eigenvalues.",
        "Diagonal forms make eigenvalues easy to read off.",
        "Repeated eigenvalues need extra care.",
    ],
    "probability": [
        "Probability measures uncertainty about outcomes.",
        "A random variable maps outcomes to numbers.",
        "The expected value of a random variable is its average.",
        "Independent events multiply their probability.",
        "Variance measures the spread around the mean.",
    ],
}


def _lecture(rounds: int = 4) -> tuple[Transcript, list[float]]:
    """Each subject for about 80 seconds at 15 characters per second, its sentences in varying order."""
    segments, starts, clock = [], [], 0.0
    for sentences in PARTS.values():
        starts.append(clock)
        for round_ in range(rounds):
            for sentence in sentences[round_ % 5 :] + sentences[: round_ % 5]:
                seconds = len(sentence) / 15
                segments.append(Segment(start=clock, end=clock + seconds, text=sentence))
                clock += seconds + 0.4
    return Transcript(language="en", duration=clock + 2, backend="t", model="t", segments=segments), starts


def test_chapters_start_near_each_change_of_subject() -> None:
    transcript, true_starts = _lecture()
    chapters = LocalTopicExtractor().extract(transcript).chapters
    assert len(chapters) == len(true_starts)
    assert all(abs(c.start - t) <= 15 for c, t in zip(chapters, true_starts, strict=True))


def test_titles_name_the_subject_of_their_chapter() -> None:
    titles = [c.title.lower() for c in LocalTopicExtractor().extract(_lecture()[0]).chapters]
    subjects = ("vector", "matri", "eigen", "random|probabilit|variance")
    assert all(any(k in t for k in s.split("|")) for t, s in zip(titles, subjects, strict=True))
    assert len(set(titles)) == len(titles)


def test_keywords_and_summary_come_from_the_lecture() -> None:
    topics = LocalTopicExtractor().extract(_lecture()[0])
    assert {"matrix", "vector"} <= {k.lower() for k in topics.keywords}
    assert 0 < len(topics.summary.split(". ")) <= 3
    assert all(
        sentence in " ".join(s for ss in PARTS.values() for s in ss)
        for sentence in topics.summary.replace(". ", ".|").split("|")
    )


def test_a_short_talk_gets_a_summary_but_no_chapters_and_says_why() -> None:
    transcript = Transcript(
        language="en",
        duration=20,
        backend="t",
        model="t",
        segments=[Segment(start=1, end=9, text=PARTS["vectors"][0])],
    )
    topics = LocalTopicExtractor().extract(transcript)
    assert topics.chapters == []
    assert topics.chapters_note is not None and topics.chapters_note.startswith("omitted")


def test_an_empty_transcript_has_no_topics() -> None:
    topics = LocalTopicExtractor().extract(Transcript(language="en", duration=600, backend="t", model="t"))
    assert (topics.summary, topics.keywords, topics.chapters) == ("", [], [])


def _short_lecture() -> Transcript:
    """199 s in two parts with a 35 s pause, opening with a greeting: the case a new user reported."""
    first = ["Good morning, please sit down, we already started.",
             *[s for _ in range(3) for s in PARTS["vectors"]]]
    second = [s for _ in range(3) for s in PARTS["matrices"]]
    segments, clock = [], 0.0
    for part in (first, second):
        for sentence in part:
            seconds = len(sentence) / 15
            segments.append(Segment(start=clock, end=clock + seconds, text=sentence))
            clock += seconds + 0.4
        clock += 35.0
    return Transcript(language="en", duration=199.0, backend="t", model="t", segments=segments)


def test_a_short_lecture_in_two_parts_gets_youtube_chapters_and_topic_keywords() -> None:
    topics = LocalTopicExtractor().extract(_short_lecture())
    assert len(topics.chapters) >= 3, topics.chapters_note
    assert topics.chapters[0].start == 0
    assert all(b.start - a.start >= 10 for a, b in zip(topics.chapters, topics.chapters[1:], strict=False))
    assert not {"morning", "please", "already"} & {w for k in topics.keywords for w in k.split()}
    assert {"vector", "matrix"} & {w.rstrip("s") for k in topics.keywords for w in k.split()}


def test_chapter_starts_move_onto_the_slide_changes() -> None:
    transcript, true_starts = _lecture()
    slides = [t + 6.0 for t in true_starts[1:]]
    chapters = LocalTopicExtractor().extract(transcript, slides=slides).chapters
    assert [c.start for c in chapters] == [0.0, *slides]
