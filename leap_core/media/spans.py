"""Which parts of a recording to keep, given where the speech is: pure arithmetic on (start, end) pairs."""

from __future__ import annotations

import math
from collections.abc import Callable

Span = tuple[float, float]


def merge_close(spans: list[Span], min_gap: float) -> list[Span]:
    """Join spans separated by `min_gap` or less: a breath between sentences is not a pause to cut."""
    merged: list[Span] = []
    for start, end in spans:
        if merged and start - merged[-1][1] <= min_gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def padded(spans: list[Span], margin: float, duration: float) -> list[Span]:
    """Widen each span by `margin` on both sides, clamped to the file, overlapping results joined."""
    return merge_close([(max(0.0, s - margin), min(duration, e + margin)) for s, e in spans], 0.0)


def head_tail(speech: list[Span], margin: float, duration: float) -> list[Span]:
    """One span from the first speech to the last, with `margin` kept on each side."""
    return padded([(speech[0][0], speech[-1][1])], margin, duration)


def without_pauses(speech: list[Span], margin: float, min_pause: float, duration: float) -> list[Span]:
    """Speech with pauses longer than `min_pause` removed, keeping `margin` either side of every cut."""
    return padded(merge_close(speech, min_pause), margin, duration)


def on_frame_grid(spans: list[Span], fps: float, duration: float) -> list[Span]:
    """Round every cut to a frame boundary, so each span holds a whole number of frames and the audio cut
    at the same instants cannot drift from the video, however many spans there are."""
    frame = 1 / fps
    snapped = [(round(s / frame) * frame, min(round(e / frame) * frame, math.floor(duration / frame) * frame))
               for s, e in spans]
    return merge_close([(s, e) for s, e in snapped if e - s >= frame], 0.0)


def snapped_back(
    kept: list[Span], keyframe_before: Callable[[float], float | None], reach: float, min_cut: float
) -> list[Span]:
    """Start each span at the keyframe before it when that keyframe lies within `reach` and inside the
    silence being cut, leaving at least `min_cut` of it cut: the span is then copied, not re-encoded.

    No speech is lost or moved: every speech span sits inside a kept span with its margins, so the
    stretch between the previous kept span and this one is silence; the span only keeps more of it.
    """
    snapped: list[Span] = []
    for start, end in kept:
        keyframe = keyframe_before(start)
        clear = not snapped or (keyframe is not None and keyframe - snapped[-1][1] >= min_cut)
        if keyframe is not None and start - reach <= keyframe < start and clear:
            start = keyframe
        snapped.append((start, end))
    return snapped


def total(spans: list[Span]) -> float:
    return sum(end - start for start, end in spans)


def markdown_table(spans: list[Span]) -> str:
    """The cut list as people read it in Dagster's UI: what was kept of the input, and where it lands."""
    rows = ["| # | kept from (s) | to (s) | length (s) | output at (s) |", "|---|---|---|---|---|"]
    offset = 0.0
    for index, (start, end) in enumerate(spans, 1):
        rows.append(f"| {index} | {start:.3f} | {end:.3f} | {end - start:.3f} | {offset:.3f} |")
        offset += end - start
    return "\n".join(rows)
