"""Fitting a template's rendered text into each platform's limits.

Platforms reject over-long metadata outright (the upload fails after the bytes were sent), so LEAP
shortens it beforehand, at word boundaries, and keeps the chapter list intact because it is what viewers
navigate by.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from leap_core.errors import ValidationError

YOUTUBE_TITLE_LIMIT = 100
VK_NAME_LIMIT = 128
DESCRIPTION_LIMIT = 5000
YOUTUBE_TAGS_LIMIT = 500
# YouTube's upload chunking lives here, not in `youtube`, so configuring it needs no Google client libraries.
CHUNK_UNIT = 256 * 1024
DEFAULT_CHUNK_SIZE = 32 * CHUNK_UNIT
ELLIPSIS = "…"
# A word boundary further back than this share of the limit wastes too much text; cut mid-word instead.
_MIN_KEPT_SHARE = 0.5


def truncate_words(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, with an ellipsis when shortened."""
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ""
    cut = text[: limit - len(ELLIPSIS) + 1]
    boundary = max(cut.rfind(" "), cut.rfind("\n"))
    kept = cut[:boundary] if boundary >= limit * _MIN_KEPT_SHARE else cut[:-1]
    return kept.rstrip() + ELLIPSIS


def format_timestamp(seconds: float) -> str:
    """`0:00`, `12:34` or `1:02:03`: the forms YouTube and VK recognise as chapter links."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def chapter_lines(chapters: Iterable[tuple[float, str]]) -> list[str]:
    """One `0:00 Title` line per chapter, in time order.

    The first line always reads 0:00: YouTube ignores a chapter list that does not start there, and the
    first topic of a trimmed lecture starts within its first seconds anyway.
    """
    ordered = sorted(chapters, key=lambda chapter: chapter[0])
    return [
        f"{format_timestamp(0 if index == 0 else start)} {' '.join(title.split())}"
        for index, (start, title) in enumerate(ordered)
    ]


def description_with_chapters(
    description: str, chapters: Sequence[tuple[float, str]], limit: int = DESCRIPTION_LIMIT
) -> str:
    """The description shortened so that the chapter list appended after it still fits in `limit`."""
    lines = chapter_lines(chapters)
    while lines and len("\n".join(lines)) > limit:
        lines.pop()
    block = "\n".join(lines)
    if not block:
        return truncate_words(description, limit)
    body = truncate_words(description, limit - len(block) - 2)
    return f"{body}\n\n{block}" if body else block


def youtube_text(text: str) -> str:
    """YouTube rejects `<` and `>` in titles and descriptions; look-alike angle quotes keep the meaning."""
    return text.replace("<", "\u2039").replace(">", "\u203a")


def youtube_tags(tags: Iterable[str]) -> list[str]:
    """The leading tags that fit YouTube's 500-character budget (a tag with a space counts its quotes)."""
    kept: list[str] = []
    used = 0
    for raw in tags:
        tag = youtube_text(" ".join(raw.split()))
        if not tag or tag in kept:
            continue
        cost = len(tag) + (2 if " " in tag else 0) + (1 if kept else 0)
        if used + cost > YOUTUBE_TAGS_LIMIT:
            break
        kept.append(tag)
        used += cost
    return kept


def scheduled_publish_at(privacy_status: str, publish_at: datetime | None) -> str | None:
    """RFC 3339 `publishAt`, refused unless the video is private (the platform makes it public then)."""
    if publish_at is None:
        return None
    if privacy_status != "private":
        raise ValidationError(
            f"a scheduled publish time needs privacy 'private', not {privacy_status!r}: "
            "the video stays private until that time and becomes public then"
        )
    if publish_at.tzinfo is None:
        raise ValidationError("the scheduled publish time must carry a time zone")
    return publish_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
