"""Template text fitted to platform limits, with the chapter list kept intact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from leap_core.errors import ValidationError
from leap_core.publishing.metadata import (
    DESCRIPTION_LIMIT,
    YOUTUBE_TAGS_LIMIT,
    chapter_lines,
    description_with_chapters,
    format_timestamp,
    scheduled_publish_at,
    truncate_words,
    youtube_tags,
    youtube_text,
)


def test_text_within_the_limit_is_left_alone() -> None:
    assert truncate_words("Linear algebra, lecture 3", 100) == "Linear algebra, lecture 3"


def test_long_text_is_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    title = "Introduction to linear algebra: vector spaces and their bases"

    short = truncate_words(title, 30)

    assert short == "Introduction to linear…"
    assert len(short) <= 30


def test_a_single_overlong_word_is_cut_mid_word_rather_than_dropped() -> None:
    assert truncate_words("x" * 200, 100) == "x" * 99 + "…"


@pytest.mark.parametrize(
    ("seconds", "expected"), [(0, "0:00"), (65.9, "1:05"), (754, "12:34"), (3723, "1:02:03")]
)
def test_timestamps_use_the_form_platforms_turn_into_chapter_links(seconds: float, expected: str) -> None:
    assert format_timestamp(seconds) == expected


def test_chapter_lines_are_sorted_and_the_first_starts_at_zero() -> None:
    lines = chapter_lines([(130.0, "Bases"), (2.5, "Intro"), (61.0, "Vector  spaces")])

    assert lines == ["0:00 Intro", "1:01 Vector spaces", "2:10 Bases"]


def test_the_chapter_list_is_appended_after_the_description() -> None:
    text = description_with_chapters("About this lecture.", [(0.0, "Intro"), (60.0, "Main part")])

    assert text == "About this lecture.\n\n0:00 Intro\n1:00 Main part"


def test_an_overlong_description_is_shortened_so_the_chapters_still_fit() -> None:
    chapters = [(float(60 * i), f"Topic {i}") for i in range(20)]

    text = description_with_chapters("word " * 2000, chapters)

    assert len(text) <= DESCRIPTION_LIMIT
    assert text.endswith("\n".join(chapter_lines(chapters)))
    assert "word…\n\n0:00 Topic 0" in text


def test_angle_brackets_are_replaced_because_youtube_rejects_them() -> None:
    assert youtube_text("a <b> c") == "a \u2039b\u203a c"


def test_tags_beyond_youtubes_budget_are_dropped_counting_quotes_for_spaced_tags() -> None:
    tags = [f"tag number {i:03d}" for i in range(100)]

    kept = youtube_tags(tags)

    assert kept == tags[: len(kept)]
    assert sum(len(t) + 2 for t in kept) + len(kept) - 1 <= YOUTUBE_TAGS_LIMIT
    assert sum(len(t) + 2 for t in tags[: len(kept) + 1]) + len(kept) > YOUTUBE_TAGS_LIMIT


def test_a_scheduled_time_is_sent_in_utc_for_a_private_video() -> None:
    moscow = timezone(timedelta(hours=3))

    assert (
        scheduled_publish_at("private", datetime(2026, 12, 1, 12, 0, tzinfo=moscow)) == "2026-12-01T09:00:00Z"
    )


def test_a_scheduled_time_for_a_public_video_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs privacy 'private'"):
        scheduled_publish_at("public", datetime(2026, 12, 1, tzinfo=UTC))


def test_no_scheduled_time_means_no_publish_at() -> None:
    assert scheduled_publish_at("public", None) is None
