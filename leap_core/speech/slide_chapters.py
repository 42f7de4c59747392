"""Chapters that start where the slides change.

Topic boundaries found in the text (TextTiling, or the OpenAI extractor's) land a sentence or two off
the moment the lecturer moves on; the screen says exactly when. A boundary moves to the nearest slide
change within SNAP_SECONDS when one exists (each change taken once), and a slide that stays up for a
chapter's length starts a chapter of its own even where the text showed no clear dip: a new section
slide is the lecturer's own chapter mark.
"""

from __future__ import annotations

from collections.abc import Sequence

SNAP_SECONDS = 15.0


def snap(starts: Sequence[float], changes: Sequence[float], window: float = SNAP_SECONDS) -> list[float]:
    """Each start (sorted) after 0:00 moved to the nearest unused slide change within `window` seconds;
    one start for each start given, so titles stay paired with their starts."""
    free = sorted(changes)
    out = []
    for start in sorted(starts):
        near = [c for c in free if abs(c - start) <= window] if start > 0 else []
        if near:
            best = min(near, key=lambda c: abs(c - start))
            free.remove(best)
            out.append(best)
        else:
            out.append(start)
    return out


def long_slides(changes: Sequence[float], duration: float, min_seconds: float) -> list[float]:
    """Slide changes whose slide stays up at least `min_seconds` (until the next change or the end)."""
    ordered = sorted(c for c in changes if 0 < c < duration)
    ends = [*ordered[1:], duration]
    return [c for c, end in zip(ordered, ends, strict=True) if end - c >= min_seconds]


def slide_boundaries(topic_starts: Sequence[float], changes: Sequence[float], duration: float,
                     min_seconds: float) -> list[float]:
    """Topic starts snapped to slide changes, plus long slides not already near a topic start."""
    snapped = snap(topic_starts, changes)
    extra = [c for c in long_slides(changes, duration, min_seconds)
             if all(abs(c - s) > SNAP_SECONDS for s in snapped)]
    return sorted({0.0, *snapped, *extra})
