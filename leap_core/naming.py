"""Slugs and the readable, unique dynamic-partition keys the Dagster UI lists."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

PARTITION_KEY_MAX = 80
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, fallback: str = "untitled") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
    return slug or fallback


def partition_key(recorded_at: datetime, user_slug: str, title: str, recording_id: str) -> str:
    """`<YYYYMMDD>-<user_slug>-<title_slug>-<last 8 of the ULID>`: the title slug is what gets cut to fit."""
    head = f"{recorded_at:%Y%m%d}-{slugify(user_slug, 'user')[:30]}-"
    tail = f"-{recording_id[-8:].lower()}"
    room = PARTITION_KEY_MAX - len(head) - len(tail)
    title_slug = slugify(title)[:room].rstrip("-") or "untitled"
    return f"{head}{title_slug}{tail}"
