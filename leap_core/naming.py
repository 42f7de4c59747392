"""Slugs and the readable, unique dynamic-partition keys the Dagster UI lists."""

from __future__ import annotations

from datetime import datetime

from slugify import slugify as _transliterated

from leap_core.errors import ValidationError

PARTITION_KEY_MAX = 80
NAME_MAX = 100
"""Source, template and automation-job names (their columns are VARCHAR(100))."""
_REPLACEMENTS = [["ц", "c"], ["Ц", "C"]]
"""Unidecode spells ц "ts"; the shorter "c" (as in "lekciia") is how LEAP's Russian-speaking users read it."""


def checked_name(name: str, what: str) -> str:
    """A row's name, stripped, 1 to NAME_MAX characters: refused with a reason rather than by the database."""
    clean = name.strip()
    if not clean or len(clean) > NAME_MAX or any(not ch.isprintable() for ch in clean):
        raise ValidationError(f"a {what} name must be 1 to {NAME_MAX} printable characters")
    return clean


def slugify(text: str, fallback: str = "untitled") -> str:
    """Lowercase ASCII words joined by hyphens, other scripts transliterated ("Лекция 1" -> "lekciia-1"):
    an operator reads a key, so dropping every Cyrillic letter (as plain ASCII folding did) loses the title."""
    return _transliterated(text, replacements=_REPLACEMENTS) or fallback


def partition_key(recorded_at: datetime, user_slug: str, title: str, recording_id: str) -> str:
    """`<YYYYMMDD>-<user_slug>-<title_slug>-<last 8 of the ULID>`: the title slug is what gets cut to fit."""
    head = f"{recorded_at:%Y%m%d}-{slugify(user_slug, 'user')[:30]}-"
    tail = f"-{recording_id[-8:].lower()}"
    room = PARTITION_KEY_MAX - len(head) - len(tail)
    title_slug = slugify(title)[:room].rstrip("-") or "untitled"
    return f"{head}{title_slug}{tail}"
