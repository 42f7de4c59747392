"""Searching the caller's cues: one ranked full-text query, one for the recordings' titles and targets.

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

from leap_core.db.models import OutputTarget, Recording
from leap_core.errors import ValidationError
from leap_core.search.schema import FTS_TABLE
from leap_core.search.terms import DICTIONARIES, Dictionary, searchable, terms, words
from leap_core.speech.transcript import format_clock
from leap_core.states import TargetStatus

MAX_QUERY_CHARS = 500
MAX_LIMIT = 200

CANDIDATES = 500
"""Matches ranked per search: the first this many of the caller's matching cues in index order, then the
best `limit` of them. A term in more of one's cues than this ranks within a sample (ADR 0033): ranking
every match of a word said in 30 % of 300,000 cues took 0.5-1.5 s (bench/search.py)."""

_PG_SEARCH = text("""
SELECT m.recording_id, m.start_s, m.end_s, m.text, m.chapter,
       ts_rank(m.search_vector, CASE m.dictionary
                                  WHEN 'english' THEN websearch_to_tsquery('english', :q)
                                  WHEN 'russian' THEN websearch_to_tsquery('russian', :q)
                                  ELSE websearch_to_tsquery('simple', :q) END) AS score
FROM (SELECT c.recording_id, c.start_s, c.end_s, c.text, c.chapter, c.dictionary, c.search_vector
      FROM transcript_cues c
      WHERE c.user_id = :user_id
        AND c.search_vector @@ (websearch_to_tsquery('english', :q) || websearch_to_tsquery('russian', :q)
                                || websearch_to_tsquery('simple', :q))
      LIMIT :candidates) m
ORDER BY score DESC, m.recording_id, m.start_s
LIMIT :limit
""")

_SQLITE_SEARCH = text(f"""
SELECT recording_id, start_s, end_s, text, chapter, -rank AS score
FROM (SELECT c.recording_id, c.start_s, c.end_s, c.text, c.chapter, bm25({FTS_TABLE}) AS rank
      FROM {FTS_TABLE} JOIN transcript_cues c ON c.id = {FTS_TABLE}.rowid
      WHERE {FTS_TABLE} MATCH :match AND c.user_id = :user_id
      LIMIT :candidates)
ORDER BY rank, recording_id, start_s
LIMIT :limit
""")

_PHRASE = re.compile(r'"([^"]*)"')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Hit:
    recording_id: str
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


def fts5_match(query: str) -> str | None:
    """An FTS5 expression over `terms`: the query's stems under each dictionary, any of them matching.

    Quoted parts of the query stay phrases; the rest are words that must all occur. The tenant is not
    in the expression (the caller's cues are picked by the join on `user_id`). None when every
    dictionary drops every word. Only quoted `\\w+` tokens are emitted: no user text is FTS5 syntax.
    """
    units = [(True, m) for m in _PHRASE.findall(query)] + [(False, w) for w in words(_PHRASE.sub(" ", query))]
    branches: dict[str, None] = {}
    for dictionary in DICTIONARIES:
        parts = [p for p in (_fts5_unit(dictionary, phrase, unit) for phrase, unit in units) if p]
        if parts:
            branches["(" + " AND ".join(parts) + ")"] = None
    return "terms : (" + " OR ".join(branches) + ")" if branches else None


def _fts5_unit(dictionary: Dictionary, phrase: bool, unit: str) -> str | None:
    stems = terms(unit, dictionary)
    if not stems:
        return None
    return '"' + " ".join(stems) + '"' if phrase else " AND ".join(f'"{s}"' for s in stems)


def hits(session: Session, user_id: str, query: str, limit: int) -> list[Hit]:
    """The caller's best-ranked matching cues (one statement)."""
    params: dict[str, Any] = {"user_id": user_id, "limit": limit, "candidates": CANDIDATES}
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_PG_SEARCH, {**params, "q": query}).all()
    else:
        match = fts5_match(query)
        if match is None:
            return []
        rows = session.execute(_SQLITE_SEARCH, {**params, "match": match}).all()
    return [Hit(r.recording_id, float(r.start_s), float(r.end_s), r.text, r.chapter, float(r.score)) for r in rows]


def deep_link(platform: str, video_id: str | None, url: str | None, second: int) -> str | None:
    """A link that opens the published video at `second`; None for a platform with no such link."""
    if platform == "youtube" and video_id:
        return f"https://youtu.be/{video_id}?t={second}"
    if platform == "vk" and video_id:  # VK targets store "<owner>_<id>" (leap_core.publishing.vk)
        return f"https://vk.com/video{video_id}?t={second}"
    if platform == "local" and url:  # the exported file's file:// URI; players read the media fragment
        return f"{url}#t={second}"
    return None


@dataclass
class Found:
    title: str
    targets: list[tuple[str, str | None, str | None]]
    """(platform, video_id, url) of each UPLOADED target."""


def recordings_found(session: Session, user_id: str, recording_ids: Sequence[str]) -> dict[str, Found]:
    """The caller's live recordings among `recording_ids`, with titles and published targets: one statement."""
    found: dict[str, Found] = {}
    if not recording_ids:
        return found
    rows = session.execute(
        select(Recording.id, Recording.title, OutputTarget.platform, OutputTarget.video_id, OutputTarget.url)
        .outerjoin(OutputTarget, (OutputTarget.recording_id == Recording.id)
                   & (OutputTarget.status == TargetStatus.UPLOADED))
        .where(Recording.id.in_(list(set(recording_ids))), Recording.user_id == user_id,
               Recording.deleted_at.is_(None))
        .order_by(Recording.id, OutputTarget.platform))
    for recording_id, title, platform, video_id, url in rows:
        entry = found.setdefault(recording_id, Found(title, []))
        if platform is not None:
            entry.targets.append((platform, video_id, url))
    return found


def search(session: Session, user_id: str, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """The caller's recordings with their matching moments, best first; `limit` counts moments."""
    found = hits(session, user_id, check(query, limit), limit)
    recordings = recordings_found(session, user_id, [h.recording_id for h in found])
    grouped: dict[str, dict[str, Any]] = {}
    for hit in found:
        recording = recordings.get(hit.recording_id)
        if recording is None:  # deleted (its cues go in the same transaction) or not the caller's
            continue
        entry = grouped.setdefault(hit.recording_id, {
            "recording_id": hit.recording_id, "title": recording.title, "score": hit.score, "moments": []})
        second = int(hit.start_s)
        links = {platform: link for platform, video_id, url in recording.targets
                 if (link := deep_link(platform, video_id, url, second))}
        entry["moments"].append({"start_s": hit.start_s, "end_s": hit.end_s, "time": format_clock(hit.start_s),
                                 "text": hit.text, "chapter": hit.chapter, "score": hit.score,
                                 "links": links})
    return list(grouped.values())
