"""The full-text objects the search migration creates with raw SQL, which the models do not describe.

SQLAlchemy has no type for an FTS5 virtual table or (portably) a `tsvector` column, so migration 0019
creates them by hand, per backend. The models-vs-migrations test excludes exactly these names, and
nothing else, from its comparison.
"""

from __future__ import annotations

FTS_TABLE = "transcript_cues_fts"
"""SQLite: the external-content FTS5 table over `transcript_cues.terms`."""

FTS5_SHADOW_TABLES = tuple(f"{FTS_TABLE}_{suffix}" for suffix in ("data", "idx", "docsize", "config", "content"))
"""Tables FTS5 creates for its own storage (`_content` only for a contentful table; listed for safety)."""

TSVECTOR_COLUMN = "search_vector"
"""PostgreSQL: `transcript_cues.search_vector`, `to_tsvector(dictionary, text)` written at insert."""

GIN_INDEX = "ix_transcript_cues_search_vector"

RAW_SQL_TABLES: frozenset[str] = frozenset({FTS_TABLE, *FTS5_SHADOW_TABLES})
RAW_SQL_COLUMNS: frozenset[tuple[str, str]] = frozenset({("transcript_cues", TSVECTOR_COLUMN)})
RAW_SQL_INDEXES: frozenset[str] = frozenset({GIN_INDEX})


def is_raw_sql_search_object(name: str | None, type_: str, table: str | None = None) -> bool:
    """True for the objects above: `include_object` for Alembic's comparison says False to them."""
    if type_ == "table":
        return name in RAW_SQL_TABLES
    if type_ == "column":
        return (table, name) in RAW_SQL_COLUMNS
    if type_ == "index":
        return name in RAW_SQL_INDEXES
    return False
