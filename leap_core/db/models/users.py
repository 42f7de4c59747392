"""Users and their platform credentials (encrypted at rest; see leap_core.secrets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leap_core.db.base import Base
from leap_core.db.types import JSONType, ULIDString, UTCDateTime, json_default, new_ulid, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ULIDString, primary_key=True, default=new_ulid)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="user")
    preferences: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Credential(Base):
    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("user_id", "platform", "name"),)

    id: Mapped[str] = mapped_column(ULIDString, primary_key=True, default=new_ulid)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    hint: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
