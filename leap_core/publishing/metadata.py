"""Fitting a template's rendered text into each platform's limits, as each platform counts them.

Platforms reject over-long metadata outright (the upload fails after the bytes were sent), so LEAP
shortens it beforehand, at word boundaries (never inside a character: a byte limit cuts whole UTF-8
sequences), and keeps the chapter list intact because it is what viewers navigate by. What was cut is
reported (`Fitted.notes`) so the publish's metadata says so; a preset whose text is fixed (no
placeholders) and already too long is refused when the template is saved (`static_overrun`).

The limits, one table (`PLATFORM_LIMITS`), as the platforms define them:
- YouTube (Data API v3 `videos` resource): `snippet.title` at most 100 characters; `snippet.description`
  at most 5,000 **bytes** (UTF-8: a Cyrillic letter takes 2, the look-alike of `<` 3), `<` and `>` not allowed;
  `snippet.tags` at most 500 characters in all, a tag with a space counting its quotes, commas between.
- VK (`video.save` / `video.edit`, dev.vk.com): `name` at most 128 characters, `description` at most
  5,000 characters. VK publishes no tag field for videos.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from leap_core.errors import ValidationError

Unit = Literal["characters", "bytes"]


@dataclass(frozen=True)
class TextLimit:
    size: int
    unit: Unit = "characters"

    def measure(self, text: str) -> int:
        return measure(text, self.unit)

    def describe(self) -> str:
        return f"{self.size:,} {self.unit}" + (" (UTF-8)" if self.unit == "bytes" else "")


@dataclass(frozen=True)
class PlatformLimits:
    name: str
    title: TextLimit
    description: TextLimit
    tags: TextLimit | None = None
    """The budget over all tags together; None: the platform takes no tags."""
    transform: Callable[[str], str] | None = None
    """What the platform's client does to text before sending (measured after it)."""


def youtube_text(text: str) -> str:
    """YouTube rejects `<` and `>` in titles and descriptions; look-alike angle quotes keep the meaning."""
    return text.replace("<", "\u2039").replace(">", "\u203a")


PLATFORM_LIMITS: Mapping[str, PlatformLimits] = {
    "youtube": PlatformLimits("YouTube", TextLimit(100), TextLimit(5000, "bytes"), TextLimit(500), youtube_text),
    "vk": PlatformLimits("VK", TextLimit(128), TextLimit(5000)),
}
YOUTUBE_TITLE_LIMIT = PLATFORM_LIMITS["youtube"].title.size
VK_NAME_LIMIT = PLATFORM_LIMITS["vk"].title.size
DESCRIPTION_LIMIT = 5000
YOUTUBE_TAGS_LIMIT = 500
# YouTube's upload chunking lives here, not in `youtube`, so configuring it needs no Google client libraries.
CHUNK_UNIT = 256 * 1024
DEFAULT_CHUNK_SIZE = 32 * CHUNK_UNIT
ELLIPSIS = "…"
# A word boundary further back than this share of the limit wastes too much text; cut mid-word instead.
_MIN_KEPT_SHARE = 0.5


def measure(text: str, unit: Unit) -> int:
    return len(text.encode("utf-8")) if unit == "bytes" else len(text)


def _prefix_within(text: str, budget: int, unit: Unit) -> str:
    """The longest prefix of `text` measuring at most `budget`, ending on a whole character."""
    if unit == "characters":
        return text[:budget]
    return text.encode("utf-8")[:budget].decode("utf-8", errors="ignore")


def truncate_words(text: str, limit: int, unit: Unit = "characters") -> str:
    """`text` cut to at most `limit` (characters or UTF-8 bytes) at a word boundary, with an ellipsis."""
    text = text.strip()
    if measure(text, unit) <= limit:
        return text
    budget = limit - measure(ELLIPSIS, unit)
    if budget <= 0:
        return ""
    prefix = _prefix_within(text, budget, unit)
    lookahead = text[: len(prefix) + 1]  # a space right after the cut is a boundary too
    boundary = max(lookahead.rfind(" "), lookahead.rfind("\n"))
    kept = lookahead[:boundary] if boundary >= (len(prefix) + len(ELLIPSIS)) * _MIN_KEPT_SHARE else prefix
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
    description: str, chapters: Sequence[tuple[float, str]], limit: int = DESCRIPTION_LIMIT,
    unit: Unit = "characters",
) -> str:
    """The description shortened so that the chapter list appended after it still fits in `limit`."""
    lines = chapter_lines(chapters)
    while lines and measure("\n".join(lines), unit) > limit:
        lines.pop()
    block = "\n".join(lines)
    if not block:
        return truncate_words(description, limit, unit)
    body = truncate_words(description, limit - measure(block, unit) - 2, unit)
    return f"{body}\n\n{block}" if body else block


def tags_cost(tags: Sequence[str]) -> int:
    """Characters YouTube counts for these tags: each tag, quotes around one with a space, commas between."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(len(tags) - 1, 0)


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


@dataclass(frozen=True)
class Fitted:
    """Text as it is sent to one platform, and a note per field that had to be shortened."""

    title: str
    description: str
    tags: list[str]
    notes: list[dict[str, Any]] = field(default_factory=list)


def fit(platform: str, title: str, description: str, chapters: Sequence[tuple[float, str]],
        tags: Sequence[str] = ()) -> Fitted:
    """The rendered metadata cut to `platform`'s limits (unchanged for a platform without limits)."""
    limits = PLATFORM_LIMITS.get(platform)
    if limits is None:
        return Fitted(title, description, list(tags))
    text = limits.transform or _same
    full_title = text(title).strip()
    fitted_title = truncate_words(full_title, limits.title.size, limits.title.unit)
    titled = [(start, text(name)) for start, name in chapters]
    full_description = description_with_chapters(text(description), titled, 10**9, limits.description.unit)
    fitted_description = description_with_chapters(text(description), titled, limits.description.size,
                                                   limits.description.unit)
    fitted_tags = youtube_tags(tags) if limits.tags is not None else []
    notes = [_note(name, limit, full, kept) for name, limit, full, kept in (
        ("title", limits.title, full_title, fitted_title),
        ("description", limits.description, full_description, fitted_description),
    ) if kept != full]
    offered = [t for t in dict.fromkeys(text(" ".join(t.split())) for t in tags) if t]
    if limits.tags is not None and len(fitted_tags) < len(offered):
        notes.append({"field": "tags", "limit": limits.tags.describe(), "size": tags_cost(offered),
                      "kept": tags_cost(fitted_tags), "dropped": len(offered) - len(fitted_tags)})
    return Fitted(fitted_title, fitted_description, fitted_tags, notes)


def _same(text: str) -> str:
    return text


def _note(name: str, limit: TextLimit, full: str, kept: str) -> dict[str, Any]:
    return {"field": name, "limit": limit.describe(), "size": limit.measure(full), "kept": limit.measure(kept)}


def static_overrun(platform: str, field_name: str, value: str | Sequence[str]) -> str | None:
    """Why a preset field whose text is fixed (no placeholders) can never fit; None if it fits or varies.

    Text with placeholders is only known once rendered, so it is fitted (and noted) at publish instead.
    """
    limits = PLATFORM_LIMITS.get(platform)
    texts = [value] if isinstance(value, str) else list(value)
    if limits is None or any("{{" in t or "{%" in t for t in texts):
        return None
    if field_name == "tags":
        if limits.tags is None:
            return None
        cost = tags_cost([(limits.transform or _same)(" ".join(t.split())) for t in texts if t.strip()])
        over = limits.tags if cost > limits.tags.size else None
        size = cost
    else:
        limit = limits.title if field_name == "title" else limits.description
        size = limit.measure((limits.transform or _same)(texts[0]).strip())
        over = limit if size > limit.size else None
    if over is None:
        return None
    return f"{size:,} {over.unit}; {limits.name} allows at most {over.describe()}"
