"""YouTube shows chapters only for >= 3 ascending timestamps, the first at 0:00, each >= 10 s."""

from __future__ import annotations

import pytest

from leap_core.speech.chapters import validate_chapters
from leap_core.speech.topic_models import Chapter


def _ch(*pairs: tuple[float, str]) -> list[Chapter]:
    return [Chapter(start=s, title=t) for s, t in pairs]


CASES = [
    pytest.param(
        _ch((0, "A"), (60, "B"), (120, "C")),
        300,
        _ch((0, "A"), (60, "B"), (120, "C")),
        None,
        id="valid chapters pass unchanged",
    ),
    pytest.param(
        _ch((120, "C"), (0, "A"), (60, "B")),
        300,
        _ch((0, "A"), (60, "B"), (120, "C")),
        "sorted",
        id="out of order chapters are sorted",
    ),
    pytest.param(
        _ch((4, "A"), (60, "B"), (120, "C")),
        300,
        _ch((0, "A"), (60, "B"), (120, "C")),
        "moved",
        id="a first chapter just after 0:00 moves to 0:00",
    ),
    pytest.param(
        _ch((30, "A"), (60, "B"), (120, "C")),
        300,
        _ch((0, "Introduction"), (30, "A"), (60, "B"), (120, "C")),
        "introduction",
        id="a late first chapter gets an introduction before it",
    ),
    pytest.param(
        _ch((0, "A"), (5, "A2"), (60, "B"), (120, "C")),
        300,
        _ch((0, "A"), (60, "B"), (120, "C")),
        "merged 1",
        id="a chapter shorter than 10 s is merged into the previous",
    ),
    pytest.param(
        _ch((0, "A"), (60, "B"), (120, "C"), (295, "D")),
        300,
        _ch((0, "A"), (60, "B"), (120, "C")),
        "merged 1",
        id="a last chapter shorter than 10 s is dropped",
    ),
    pytest.param(
        _ch((0, "A"), (60, " "), (120, "C"), (400, "Late")),
        300,
        [],
        "omitted: only 2",
        id="untitled and out-of-video chapters are dropped, leaving too few",
    ),
    pytest.param(_ch((0, "A"), (60, "B")), 300, [], "omitted: only 2", id="two chapters are too few"),
    pytest.param(
        _ch((0, "A"), (10, "B"), (20, "C")),
        25,
        [],
        "omitted: the video is 25 s long",
        id="a video under 30 s cannot have chapters",
    ),
    pytest.param([], 300, [], "omitted: only 0", id="no chapters at all"),
]


@pytest.mark.parametrize(("given", "duration", "expected", "note"), CASES)
def test_chapters_follow_youtube_rules(
    given: list[Chapter], duration: float, expected: list[Chapter], note: str | None
) -> None:
    chapters, reason = validate_chapters(given, duration)
    assert chapters == expected
    if note is None:
        assert reason is None
    else:
        assert reason is not None and note in reason
