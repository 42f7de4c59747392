from leap_core.speech.transcript import Segment, Transcript, Word, format_clock


def _transcript() -> Transcript:
    words = [Word(start=1.0, end=1.4, text="Hello"), Word(start=1.5, end=2.0, text="students.")]
    return Transcript(
        language="en",
        duration=3.0,
        backend="local",
        model="faster-whisper:tiny.en",
        segments=[Segment(start=1.0, end=2.0, text="Hello students.", words=words)],
    )


def test_a_transcript_survives_a_json_round_trip_unchanged() -> None:
    transcript = _transcript()
    assert Transcript.model_validate_json(transcript.model_dump_json()) == transcript


def test_segments_without_word_timings_default_to_no_words() -> None:
    segment = Segment.model_validate_json('{"start": 0, "end": 1, "text": "hi"}')
    assert segment.words == []


def test_text_and_word_count_join_the_segments() -> None:
    assert _transcript().text == "Hello students."
    assert _transcript().word_count == 2


def test_the_preview_shows_timestamps_and_stops_after_the_first_lines() -> None:
    many = _transcript().model_copy(update={"segments": _transcript().segments * 12})
    preview = many.preview_markdown(max_lines=10)
    assert preview.startswith("- `0:01` Hello students.")
    assert preview.splitlines()[-1] == "- … 2 more segments"


def test_clock_format_matches_youtube_chapters() -> None:
    assert [format_clock(s) for s in (0, 9.9, 75, 3600, 3725)] == [
        "0:00",
        "0:09",
        "1:15",
        "1:00:00",
        "1:02:05",
    ]
