"""Recordings, their per-platform output targets, their stage history, and the launcher's run requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from leap_core.db.base import Base
from leap_core.db.types import JSONType, ULIDString, UTCDateTime, json_default, new_ulid, utcnow
from leap_core.states import RecordingStatus, TargetStatus


def _enum(enum: type[RecordingStatus] | type[TargetStatus]) -> Enum:
    """Stored as plain strings (no native enum type), so adding a state is a code change, not a DDL one."""
    return Enum(
        enum, native_enum=False, length=32, validate_strings=True, values_callable=lambda e: [m.value for m in e]
    )


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = (
        UniqueConstraint("source_id", "source_file_id", "source_revision"),
        Index("ix_recordings_user_id_status", "user_id", "status"),
        Index("ix_recordings_user_id_created_at", "user_id", "created_at"),
        Index("ix_recordings_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(ULIDString, primary_key=True, default=new_ulid)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    source_id: Mapped[str | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    template_id: Mapped[str | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"), index=True)
    partition_key: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    source_file_id: Mapped[str] = mapped_column(String(500))
    source_name: Mapped[str] = mapped_column(String(1000))
    source_size: Mapped[int | None] = mapped_column(BigInteger)
    source_extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    """What the source needs to fetch the file later (Zoom meeting UUID and URL, Yandex path); no secrets."""
    source_revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """1 for the file as first taken; each replacement of it at the source (same file id, new content) is a
    new recording with the next revision, so the older one's history and outputs stay as they were."""
    source_fingerprint: Mapped[str | None] = mapped_column(String(200))
    """What the content looked like when listed (`sources.base.fingerprint`: checksum, else size and mtime)."""
    source_stable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the sync first saw the current fingerprint: intake waits LEAP_INTAKE_STABLE_SECONDS from here."""
    extension: Mapped[str] = mapped_column(String(16), default="mp4")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[RecordingStatus] = mapped_column(_enum(RecordingStatus))
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_at_stage: Mapped[str | None] = mapped_column(String(32))
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    error_message: Mapped[str | None] = mapped_column(Text)
    skip_reason: Mapped[str | None] = mapped_column(String(64))
    duration_s: Mapped[float | None] = mapped_column(Float)
    storage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    """What the user's storage counter holds for this recording: its reservation until downloaded, then its
    files in storage plus its local export copy (`leap_core.accounting`)."""
    transcription_s: Mapped[float | None] = mapped_column(Float)
    """Transcription seconds charged for this recording (its trimmed duration), once; None until then."""
    transcription_period: Mapped[str | None] = mapped_column(String(6))
    """The usage period (YYYYMM) that charge went to, so `leap admin usage verify` can recompute each month."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Set while the recording is archived by retention: files and partition gone, outputs in RecordingArchive."""
    review_reason: Mapped[str | None] = mapped_column(Text)
    """Set while the recording waits in TRANSCRIBED for its owner's review (ADR 0042): why it is held.
    Publishing skips a held recording; `approve` clears it and requests the publish."""
    review_held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempt_owner: Mapped[str | None] = mapped_column(String(64))
    """The run that owns the current attempt, `queued` while a retry waits for its run, None before either
    (`leap_core.attempts`): only the owner's events move the recording."""

    __mapper_args__ = {"version_id_col": version}


class RecordingArchive(Base):
    """What an archived recording keeps once its files are gone: the text outputs, as they were published."""

    __tablename__ = "recording_archives"

    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True)
    transcript: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    topics: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    subtitles_srt: Mapped[str | None] = mapped_column(Text)
    subtitles_vtt: Mapped[str | None] = mapped_column(Text)
    freed_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutputTarget(Base):
    __tablename__ = "output_targets"
    __table_args__ = (UniqueConstraint("recording_id", "platform"),)

    id: Mapped[str] = mapped_column(ULIDString, primary_key=True, default=new_ulid)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    status: Mapped[TargetStatus] = mapped_column(_enum(TargetStatus), default=TargetStatus.NOT_UPLOADED)
    video_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(1000))
    resume_state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    retry_after: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Every try, the first and manual retries included."""
    parked_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Automatic re-tries of a parked target since it was last tried by hand (`LEAP_PARKED_MAX_ATTEMPTS`)."""
    error_message: Mapped[str | None] = mapped_column(Text)
    takedown_error: Mapped[str | None] = mapped_column(Text)
    """Why the last `delete --unpublish` could not remove the published video (None once it is gone)."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ProcessingStage(Base):
    """One attempt at one stage: the history stats read time-per-stage from."""

    __tablename__ = "processing_stages"
    __table_args__ = (Index("ix_processing_stages_recording_id_stage", "recording_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=json_default)
    run_id: Mapped[str | None] = mapped_column(String(64))


class RunRequest(Base):
    """Pipeline work asked for by the core; the launcher sensor is the only thing that turns it into a run."""

    __tablename__ = "run_requests"
    __table_args__ = (
        Index("ix_run_requests_status_id", "status", "id"),
        Index("ix_run_requests_user_id_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    first_stage: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(100))
    template_id: Mapped[str | None] = mapped_column(ULIDString)
    automation_job_id: Mapped[str | None] = mapped_column(ULIDString)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
