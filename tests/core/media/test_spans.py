from __future__ import annotations

import math

from leap_core.media.spans import Span, snapped_back

FRAME = 0.04


def every_ten_seconds(at: float) -> float:
    return math.floor(at / 10) * 10.0


def test_a_span_starts_on_the_keyframe_before_it_when_that_lies_in_the_cut_pause() -> None:
    kept: list[Span] = [(0.0, 8.0), (12.5, 20.0)]

    assert snapped_back(kept, every_ten_seconds, 10.0, FRAME) == [(0.0, 8.0), (10.0, 20.0)]


def test_a_span_never_reaches_back_into_the_previous_kept_span() -> None:
    kept: list[Span] = [(0.0, 11.0), (14.0, 20.0)]

    assert snapped_back(kept, every_ten_seconds, 10.0, FRAME) == kept


def test_a_keyframe_closer_than_a_frame_to_the_previous_span_leaves_the_cut_where_it_was() -> None:
    kept: list[Span] = [(0.0, 9.99), (12.0, 20.0)]

    assert snapped_back(kept, every_ten_seconds, 10.0, FRAME) == kept


def test_a_keyframe_further_back_than_the_reach_is_not_used() -> None:
    kept: list[Span] = [(0.0, 5.0), (16.0, 20.0)]

    assert snapped_back(kept, every_ten_seconds, 5.0, FRAME) == kept
    assert snapped_back(kept, every_ten_seconds, 6.0, FRAME) == [(0.0, 5.0), (10.0, 20.0)]


def test_the_first_span_snaps_back_into_the_silent_head() -> None:
    assert snapped_back([(13.0, 20.0)], every_ten_seconds, 5.0, FRAME) == [(10.0, 20.0)]
