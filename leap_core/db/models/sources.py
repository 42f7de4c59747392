"""Where recordings come from (sources) and what happens to them (templates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leap_core.db.base import Base
from leap_core.db.types import JSONType, ULIDString, UTCDateTime, json_default, new_ulid, utcnow


class Source(Base):
    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[str] = mapped_column(ULIDString, primary_key=True, default=new_ulid)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    credential_id: Mapped[str | None] = mapped_column(ForeignKey("credentials.id", ondelete="SET NULL"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Template(Base):
    """Matching rules plus what to do with a match: trim mode, targets and per-platform metadata presets."""

    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[str] = mapped_column(ULIDString, primary_key=True, default=new_ulid)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    process_on_arrival: Mapped[bool] = mapped_column(Boolean, default=True)
    exclude_blank: Mapped[bool] = mapped_column(Boolean, default=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    trim: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    targets: Mapped[list[str]] = mapped_column(JSONType, default=list)
    presets: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    """A code ("ru") or "auto" for transcription; None: the deployment's LEAP_WHISPER_LANGUAGE."""
    retention: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    """`days` after publishing until the recording is archived; `delete_source_after_download` (Zoom)."""
    glossary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    """`terms` (name, optional `sounds_like`): spellings restored after decoding (leap_core.speech.glossary)."""
    review: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    """The review hold before publishing (`mode` off|flagged|always, `min_confidence`, `max_low_cues`,
    `on_repair`; leap_core.review); {} is off."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
