"""Chapters that start where the slides change.

Topic boundaries found in the text (TextTiling, or the OpenAI extractor's) land a sentence or two off
the moment the lecturer moves on; the screen says exactly when. A boundary moves to the nearest slide
change within SNAP_SECONDS when one exists (each change taken once), and a slide that stays up for a
chapter's length starts a chapter of its own even where the text showed no clear dip: a new section
slide is the lecturer's own chapter mark. Text boundaries far from every slide change are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

SNAP_SECONDS = 15.0
SLIDE_CHAPTER_SECONDS = 30.0
"""A slide shown this long is a section of the talk, not a passing picture."""
MAX_SLIDE_CHAPTERS = 20


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
                     min_seconds: float = SLIDE_CHAPTER_SECONDS) -> list[float]:
    """Topic starts snapped to slide changes, plus slides shown `min_seconds` or longer that are not near
    a topic start (the longest first, up to MAX_SLIDE_CHAPTERS chapters in all). A topic start with no
    slide change within SNAP_SECONDS is dropped: on a screen share the lecturer moves on with the slide,
    and a text-only dip there was the less reliable signal (bench/slide_chapters.py)."""
    snapped = [s for s in snap(topic_starts, changes) if s in changes]
    ends = dict(zip(sorted(changes), [*sorted(changes)[1:], duration], strict=True))
    extra = sorted((c for c in long_slides(changes, duration, min(min_seconds, SLIDE_CHAPTER_SECONDS))
                    if all(abs(c - s) > SNAP_SECONDS for s in snapped)), key=lambda c: c - ends[c])
    room = max(0, MAX_SLIDE_CHAPTERS - 1 - len(snapped))
    return sorted({0.0, *snapped, *extra[:room]})
