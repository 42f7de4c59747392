"""Searching the caller's cues: one ranked full-text query, one query for the deep links' targets.

Two statements per search whatever the number of recordings or hits (bench/search.py counts them).
PostgreSQL matches each cue with its own dictionary's `websearch_to_tsquery` (phrases in quotes, `or`,
`-word`) and ranks with `ts_rank`; SQLite matches the FTS5 table with a query built here from word
tokens only (so no user text ever reaches FTS5's syntax) and ranks with `bm25`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from leap_core.db.models import OutputTarget
from leap_core.errors import ValidationError
from leap_core.search.schema import FTS_TABLE
from leap_core.search.terms import DICTIONARIES, Dictionary, searchable, terms, words
from leap_core.speech.transcript import format_clock
from leap_core.states import TargetStatus

MAX_QUERY_CHARS = 500
MAX_LIMIT = 200

_PG_SEARCH = text("""
SELECT c.recording_id, r.title, c.start_s, c.end_s, c.text, c.chapter,
       ts_rank(c.search_vector, CASE c.dictionary
                                  WHEN 'english' THEN websearch_to_tsquery('english', :q)
                                  WHEN 'russian' THEN websearch_to_tsquery('russian', :q)
                                  ELSE websearch_to_tsquery('simple', :q) END) AS score
FROM transcript_cues c JOIN recordings r ON r.id = c.recording_id
WHERE c.user_id = :user_id AND r.user_id = :user_id AND r.deleted_at IS NULL
  AND ((c.dictionary = 'english' AND c.search_vector @@ websearch_to_tsquery('english', :q))
    OR (c.dictionary = 'russian' AND c.search_vector @@ websearch_to_tsquery('russian', :q))
    OR (c.dictionary = 'simple' AND c.search_vector @@ websearch_to_tsquery('simple', :q)))
ORDER BY score DESC, c.recording_id, c.start_s
LIMIT :limit
""")

_SQLITE_SEARCH = text(f"""
SELECT c.recording_id, r.title, c.start_s, c.end_s, c.text, c.chapter,
       -bm25({FTS_TABLE}, 0.0, 0.0, 1.0) AS score
FROM {FTS_TABLE} JOIN transcript_cues c ON c.id = {FTS_TABLE}.rowid JOIN recordings r ON r.id = c.recording_id
WHERE {FTS_TABLE} MATCH :match AND c.user_id = :user_id AND r.user_id = :user_id AND r.deleted_at IS NULL
ORDER BY bm25({FTS_TABLE}, 0.0, 0.0, 1.0), c.recording_id, c.start_s
LIMIT :limit
""")

_PHRASE = re.compile(r'"([^"]*)"')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Hit:
    recording_id: str
    title: str
    start_s: float
    end_s: float
    text: str
    chapter: str | None
    score: float


def check(query: str, limit: int) -> str:
    """The query, control characters (NUL included, which PostgreSQL refuses) blanked and stripped,
    or a typed error saying why it cannot be searched."""
    stripped = _CONTROL.sub(" ", query).strip()
    if len(stripped) > MAX_QUERY_CHARS:
        raise ValidationError(f"the search query is longer than {MAX_QUERY_CHARS} characters")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}")
    if not words(stripped):
        raise ValidationError("the search query has no words to search for")
    if not searchable(stripped):
        raise ValidationError("the search query has only stop words (like 'the', 'and', 'и'); add a content word")
    return stripped


def fts5_match(user_id: str, query: str) -> str | None:
    """An FTS5 expression for the caller's cues: each dictionary's stems of the query, quoted tokens only.

    Quoted parts of the query stay phrases; the rest are words that must all occur. A dictionary whose
    stems come out empty (only its stop words) is left out; None when no dictionary has anything.
    """
    units = [(True, m) for m in _PHRASE.findall(query)] + [(False, w) for w in words(_PHRASE.sub(" ", query))]
    branches: list[str] = []
    for dictionary in DICTIONARIES:
        parts = [_fts5_unit(dictionary, phrase, unit) for phrase, unit in units]
        kept = [p for p in parts if p]
        if kept:
            branches.append(f'(dictionary : "{dictionary}" AND ' + " AND ".join(kept) + ")")
    if not branches:
        return None
    tenant = "".join(words(user_id))
    return f'user_id : "{tenant}" AND (' + " OR ".join(branches) + ")"


def _fts5_unit(dictionary: Dictionary, phrase: bool, unit: str) -> str | None:
    stems = terms(unit, dictionary)  # \w+ tokens only: nothing here can be FTS5 syntax
    if not stems:
        return None
    return f'terms : "{" ".join(stems)}"' if phrase else " AND ".join(f'terms : "{s}"' for s in stems)


def hits(session: Session, user_id: str, query: str, limit: int) -> list[Hit]:
    """The caller's best-ranked matching cues (one statement)."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_PG_SEARCH, {"q": query, "user_id": user_id, "limit": limit}).all()
    else:
        match = fts5_match(user_id, query)
        if match is None:
            return []
        rows = session.execute(_SQLITE_SEARCH, {"match": match, "user_id": user_id, "limit": limit}).all()
    return [Hit(r.recording_id, r.title, float(r.start_s), float(r.end_s), r.text, r.chapter, float(r.score))
            for r in rows]


def deep_link(platform: str, video_id: str | None, url: str | None, second: int) -> str | None:
    """A link that opens the published video at `second`; None for a platform with no such link."""
    if platform == "youtube" and video_id:
        return f"https://youtu.be/{video_id}?t={second}"
    if platform == "vk" and video_id:  # VK targets store "<owner>_<id>" (leap_core.publishing.vk)
        return f"https://vk.com/video{video_id}?t={second}"
    if platform == "local" and url:  # the exported file's file:// URI; players read the media fragment
        return f"{url}#t={second}"
    return None


def published_targets(session: Session, recording_ids: Sequence[str]) -> dict[str, list[tuple[str, str | None,
                                                                                          str | None]]]:
    """Each recording's published targets as (platform, video_id, url), in one statement."""
    found: dict[str, list[tuple[str, str | None, str | None]]] = {}
    if not recording_ids:
        return found
    rows = session.execute(
        select(OutputTarget.recording_id, OutputTarget.platform, OutputTarget.video_id, OutputTarget.url)
        .where(OutputTarget.recording_id.in_(list(set(recording_ids))), OutputTarget.status == TargetStatus.UPLOADED)
        .order_by(OutputTarget.platform))
    for recording_id, platform, video_id, url in rows:
        found.setdefault(recording_id, []).append((platform, video_id, url))
    return found


def search(session: Session, user_id: str, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """The caller's recordings with their matching moments, best first; `limit` counts moments."""
    found = hits(session, user_id, check(query, limit), limit)
    targets = published_targets(session, [h.recording_id for h in found])
    grouped: dict[str, dict[str, Any]] = {}
    for hit in found:
        entry = grouped.setdefault(hit.recording_id, {
            "recording_id": hit.recording_id, "title": hit.title, "score": hit.score, "moments": []})
        second = int(hit.start_s)
        links = {platform: link for platform, video_id, url in targets.get(hit.recording_id, [])
                 if (link := deep_link(platform, video_id, url, second))}
        entry["moments"].append({"start_s": hit.start_s, "end_s": hit.end_s, "time": format_clock(hit.start_s),
                                 "text": hit.text, "chapter": hit.chapter, "score": hit.score,
                                 "links": links})
    return list(grouped.values())
