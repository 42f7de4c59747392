"""OpenAI topics: structured output parsed into the schema, long transcripts summarised in windows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leap_core.errors import StageError
from leap_core.speech.openai_topics import OpenAITopicExtractor
from leap_core.speech.transcript import Segment, Transcript
from tests.core.speech.fake_openai import FakeOpenAI, fake_openai


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as state:
        yield state


def _transcript(minutes: int = 10) -> Transcript:
    segments = [Segment(start=t, end=t + 8, text=f"Sentence said at second {t}.") for t in range(0, minutes * 60, 10)]
    return Transcript(language="en", duration=minutes * 60, backend="t", model="t", segments=segments)


def _extractor(server: FakeOpenAI, **overrides: object) -> OpenAITopicExtractor:
    options: dict[str, object] = {"api_key": "sk-test-key", "base_url": server.base_url, "max_retries": 1, **overrides}
    return OpenAITopicExtractor(**options)  # type: ignore[arg-type]


def test_structured_topics_are_parsed_into_summary_keywords_and_chapters(server: FakeOpenAI) -> None:
    topics = _extractor(server).extract(_transcript())
    assert topics.summary == "A part starting at 0:00."
    assert topics.keywords == ["matrix", "vector"]
    assert [(c.start, c.title) for c in topics.chapters] == [
        (0, "Topic at 0:00"),
        (200, "Topic at 3:20"),
        (400, "Topic at 6:40"),
    ]
    assert topics.chapters_note is None
    request = server.chats()[0].body or {}
    assert request["response_format"]["json_schema"]["strict"] is True  # type: ignore[index]


def test_a_long_transcript_is_summarised_in_windows_then_combined(server: FakeOpenAI) -> None:
    topics = _extractor(server, max_chars=800).extract(_transcript())
    parts = len(server.chats()) - 1
    assert parts > 1
    assert topics.summary == f"Whole lecture: {parts} parts."
    starts = [c.start for c in topics.chapters]
    assert starts == sorted(starts) and starts[0] == 0 and len(starts) == 3 * parts


def test_chapters_from_the_model_are_held_to_youtube_rules(server: FakeOpenAI) -> None:
    topics = _extractor(server).extract(
        _transcript(minutes=0).model_copy(
            update={"duration": 25, "segments": [Segment(start=t, end=t + 2, text="x") for t in (0, 8, 16)]}
        )
    )
    assert topics.chapters == []
    assert topics.chapters_note is not None and "25 s" in topics.chapters_note


def test_a_server_error_after_retries_is_a_topics_stage_error(server: FakeOpenAI) -> None:
    server.fail_from, server.fail_status = 1, 503
    with pytest.raises(StageError, match="OpenAI API error 503 on part 1 of 1") as caught:
        _extractor(server).extract(_transcript())
    assert caught.value.stage == "topics"
    assert len(server.chats()) == 2


def test_an_empty_transcript_needs_no_request(server: FakeOpenAI) -> None:
    topics = _extractor(server).extract(_transcript(minutes=0))
    assert topics.chapters == [] and server.requests == []
