"""YouTube's chapter rules, applied before anything is published.

YouTube only shows chapters when the description lists at least three timestamps in ascending order,
the first at 0:00, each chapter at least 10 seconds long; otherwise it silently shows none. So LEAP
repairs what it can (sorts, starts the first at 0:00, folds too-short chapters into their predecessor)
and, when fewer than three survive, publishes none and says why.
"""

from __future__ import annotations

from collections.abc import Sequence

from leap_core.speech.topic_models import Chapter

MIN_CHAPTER_SECONDS = 10.0
MIN_CHAPTERS = 3
INTRO_TITLE = "Introduction"


def _first_at_zero(ordered: list[Chapter]) -> tuple[list[Chapter], str | None]:
    """A late first chapter gets an introduction before it; a nearly-zero one just moves to 0:00."""
    first = ordered[0]
    if first.start == 0:
        return ordered, None
    if first.start >= MIN_CHAPTER_SECONDS:
        return [Chapter(start=0, title=INTRO_TITLE), *ordered], "added an introduction chapter at 0:00"
    return [Chapter(start=0, title=first.title), *ordered[1:]], "moved the first chapter to 0:00"


def _long_enough(ordered: list[Chapter], duration: float) -> list[Chapter]:
    kept: list[Chapter] = []
    for chapter in ordered:
        if not kept or chapter.start - kept[-1].start >= MIN_CHAPTER_SECONDS:
            kept.append(chapter)
    while len(kept) > 1 and duration - kept[-1].start < MIN_CHAPTER_SECONDS:
        kept.pop()
    return kept


def validate_chapters(chapters: Sequence[Chapter], duration: float) -> tuple[list[Chapter], str | None]:
    """Chapters YouTube will accept for a video of `duration` seconds, and a note on anything changed."""
    if duration < MIN_CHAPTER_SECONDS * MIN_CHAPTERS:
        return [], (f"omitted: the video is {duration:.0f} s long; YouTube chapters need at least "
                    f"{MIN_CHAPTERS} chapters of {MIN_CHAPTER_SECONDS:.0f} s")
    usable = [Chapter(start=c.start, title=c.title.strip()) for c in chapters
              if c.title.strip() and 0 <= c.start < duration]
    ordered = sorted(usable, key=lambda c: c.start)
    notes = []
    if len(usable) < len(chapters):
        notes.append(f"dropped {len(chapters) - len(usable)} without a title or outside the video")
    if ordered != usable:
        notes.append("sorted by time")
    if ordered:
        ordered, moved = _first_at_zero(ordered)
        notes += [moved] if moved else []
    kept = _long_enough(ordered, duration)
    if len(kept) < len(ordered):
        notes.append(f"merged {len(ordered) - len(kept)} shorter than {MIN_CHAPTER_SECONDS:.0f} s")
    if len(kept) < MIN_CHAPTERS:
        return [], f"omitted: only {len(kept)} usable chapters; YouTube needs at least {MIN_CHAPTERS}"
    return kept, "; ".join(notes) or None
