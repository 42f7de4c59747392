"""The OpenAI backend against a fake OpenAI-compatible server, reached by the real SDK via base_url."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from leap_core.errors import StageError
from leap_core.speech.openai_whisper import OpenAITranscriber
from tests.core.speech.fake_openai import HALLUCINATION, FakeOpenAI, fake_openai
from tests.fixtures.media import Lecture, LectureSpec, make_lecture

LIMIT = 40_000
"""Bytes per request in these tests: ~9 s of upload audio, so a 40 s lecture needs several chunks."""
KEY = "sk-test-0123456789abcdef"

SENTENCES = tuple(f"This is sentence number {n} of a lecture about chunked transcription." for n in range(8))


@pytest.fixture(scope="module")
def long_lecture() -> Lecture:
    return make_lecture(LectureSpec(sentences=SENTENCES, gap=0.8, video=False, extension="m4a"))


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as state:
        yield state


def _transcriber(server: FakeOpenAI, **overrides: object) -> OpenAITranscriber:
    options: dict[str, object] = {
        "api_key": KEY,
        "base_url": server.base_url,
        "max_chunk_bytes": LIMIT,
        "max_retries": 2,
        "timeout": 30.0,
        **overrides,
    }
    return OpenAITranscriber(**options)  # type: ignore[arg-type]


def test_a_long_recording_is_sent_in_chunks_each_under_the_request_limit(
    server: FakeOpenAI, long_lecture: Lecture, tmp_path: Path
) -> None:
    _transcriber(server).transcribe(long_lecture.path, work_dir=tmp_path)
    sent = server.transcriptions()
    assert len(sent) >= 4
    assert all(r.size < LIMIT for r in sent)
    assert sum(r.audio_seconds or 0 for r in sent) == pytest.approx(long_lecture.duration, abs=0.1 * len(sent))
    assert all(r.fields["model"] == "whisper-1" and r.fields["response_format"] == "verbose_json" for r in sent)


def test_chunks_are_cut_in_silences_between_sentences(
    server: FakeOpenAI, long_lecture: Lecture, tmp_path: Path
) -> None:
    transcriber = _transcriber(server)
    transcriber.transcribe(long_lecture.path, work_dir=tmp_path)
    offsets, cuts = 0.0, []
    for request in server.transcriptions()[:-1]:
        offsets += request.audio_seconds or 0
        cuts.append(offsets)
    assert all(not (start + 0.05 < cut < end - 0.05) for cut in cuts for start, end in long_lecture.speech_spans)


def test_stitched_timestamps_are_shifted_monotonic_and_continuous(
    server: FakeOpenAI, long_lecture: Lecture, tmp_path: Path
) -> None:
    transcript = _transcriber(server).transcribe(long_lecture.path, work_dir=tmp_path)
    segments = transcript.segments
    assert [s.text for s in segments] == [f"Chunk {i} speaks." for i in range(1, len(segments) + 1)]
    assert segments[0].start == pytest.approx(0.2, abs=0.01)
    assert segments[-1].end == pytest.approx(transcript.duration - 0.2, abs=0.1)
    assert all(a.end <= b.start <= a.end + 0.5 for a, b in pairwise(segments))
    words = [w for s in segments for w in s.words]
    assert all(a.start <= b.start for a, b in pairwise(words))
    assert transcript.language == "en"
    assert (transcript.backend, transcript.model) == ("openai", "whisper-1")


def test_hallucinated_segments_over_silence_are_dropped(
    server: FakeOpenAI, long_lecture: Lecture, tmp_path: Path
) -> None:
    transcript = _transcriber(server).transcribe(long_lecture.path, work_dir=tmp_path)
    assert HALLUCINATION not in transcript.text


def test_each_chunk_is_prompted_with_the_end_of_the_previous_one(
    server: FakeOpenAI, long_lecture: Lecture, tmp_path: Path
) -> None:
    _transcriber(server, language="en").transcribe(long_lecture.path, work_dir=tmp_path)
    sent = server.transcriptions()
    assert "prompt" not in sent[0].fields
    assert [r.fields["prompt"] for r in sent[1:]] == [f"Chunk {i} speaks." for i in range(1, len(sent))]
    assert all(r.fields["language"] == "en" for r in sent)


def test_rate_limits_and_unavailability_are_retried(server: FakeOpenAI, long_lecture: Lecture, tmp_path: Path) -> None:
    server.script = [429, 503]
    transcript = _transcriber(server).transcribe(long_lecture.path, work_dir=tmp_path)
    assert len(server.transcriptions()) == len(transcript.segments) + 2


def test_a_413_becomes_a_clear_stage_error(server: FakeOpenAI, long_lecture: Lecture, tmp_path: Path) -> None:
    server.fail_from, server.fail_status = 1, 413
    with pytest.raises(StageError, match=r"refused chunk 1 of \d+ as too large \(413\)") as caught:
        _transcriber(server).transcribe(long_lecture.path, work_dir=tmp_path)
    assert caught.value.stage == "transcribe"


def test_an_api_error_never_repeats_the_key(server: FakeOpenAI, long_lecture: Lecture, tmp_path: Path) -> None:
    server.fail_from, server.fail_status = 1, 400
    server.error_message = f"Invalid request for key {KEY}"
    with pytest.raises(StageError, match="OpenAI API error 400 on chunk 1") as caught:
        _transcriber(server).transcribe(long_lecture.path, work_dir=tmp_path)
    assert KEY not in str(caught.value)
    assert KEY not in repr(_transcriber(server))


def test_a_rejected_key_says_so(server: FakeOpenAI, long_lecture: Lecture, tmp_path: Path) -> None:
    server.fail_from, server.fail_status = 1, 401
    server.error_message = f"Incorrect API key provided: {KEY}"
    with pytest.raises(StageError, match="rejected the API key") as caught:
        _transcriber(server).transcribe(long_lecture.path, work_dir=tmp_path)
    assert KEY not in str(caught.value)


def test_after_a_mid_way_failure_a_retry_sends_only_the_unfinished_chunks(
    server: FakeOpenAI, long_lecture: Lecture, tmp_path: Path
) -> None:
    server.fail_from = 3
    with pytest.raises(StageError, match="chunk 3 of"):
        _transcriber(server, max_retries=0).transcribe(long_lecture.path, work_dir=tmp_path)
    assert len(list(tmp_path.glob("chunk-*.json"))) == 2
    server.fail_from = None
    server.requests.clear()
    transcript = _transcriber(server).transcribe(long_lecture.path, work_dir=tmp_path)
    chunks = len(transcript.segments)
    assert len(server.transcriptions()) == chunks - 2
    assert [s.text for s in transcript.segments[:2]] == ["Chunk 1 speaks.", "Chunk 2 speaks."]


def test_a_changed_chunk_limit_starts_over(server: FakeOpenAI, long_lecture: Lecture, tmp_path: Path) -> None:
    _transcriber(server).transcribe(long_lecture.path, work_dir=tmp_path)
    first = len(server.transcriptions())
    _transcriber(server, max_chunk_bytes=LIMIT * 2).transcribe(long_lecture.path, work_dir=tmp_path)
    assert 0 < len(server.transcriptions()) - first < first


def test_an_unreachable_server_is_a_stage_error(long_lecture: Lecture, tmp_path: Path) -> None:
    transcriber = OpenAITranscriber(api_key=KEY, base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=5)
    with pytest.raises(StageError, match="cannot reach the OpenAI API"):
        transcriber.transcribe(long_lecture.path, work_dir=tmp_path)
