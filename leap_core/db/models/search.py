"""The searchable cues of each recording's transcript (`leap_core.search`)."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leap_core.db.base import Base


class TranscriptCue(Base):
    """One subtitle cue as search sees it: its text, its time, the chapter it falls in.

    `user_id` is copied from the recording so a search is scoped to its caller before any join.
    The full-text index itself is backend-specific raw SQL (`leap_core.search.schema`): a `tsvector`
    column with a GIN index on PostgreSQL, an external-content FTS5 table over `terms` on SQLite.
    """

    __tablename__ = "transcript_cues"
    __table_args__ = (Index("ix_transcript_cues_recording_id_position", "recording_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    chapter: Mapped[str | None] = mapped_column(String(500))
    dictionary: Mapped[str] = mapped_column(String(16))
    """The text-search dictionary of the recording's language: `english`, `russian` or `simple`."""
    terms: Mapped[str] = mapped_column(Text)
    """The cue's words as the embedded index matches them: lower-cased, stop words out, stemmed per
    `dictionary` (Snowball). SQLite's FTS5 has no Russian stemmer; PostgreSQL ignores this column."""
