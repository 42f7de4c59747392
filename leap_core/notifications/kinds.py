"""The names shared by events, preferences and channels: what can happen and where it can be sent."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Channel = Literal["in_app", "email", "webhook"]
CHANNELS: tuple[Channel, ...] = ("in_app", "email", "webhook")


class EventType(StrEnum):
    PROCESSING_FAILED = "processing.failed"
    TRANSCRIPTION_FAILED = "transcription.failed"
    UPLOAD_FAILED = "upload.failed"
    UPLOAD_WAITING = "upload.waiting"
    AUTOMATION_FAILED = "automation.failed"
    AUTOMATION_COMPLETED = "automation.completed"
    QUOTA_WARNING = "quota.warning"
    QUOTA_REACHED = "quota.reached"
    SOURCE_CREDENTIAL_FAILED = "source.credential_failed"
    CREDENTIAL_UNHEALTHY = "credential.unhealthy"
    RECORDING_PUBLISHED = "recording.published"
    RECORDING_SKIPPED = "recording.skipped"
    RECORDING_REVIEW = "recording.review"
    STORAGE_OVERAGE = "storage.overage"
    SUMMARY = "summary"


QUIET = frozenset({EventType.AUTOMATION_COMPLETED, EventType.RECORDING_PUBLISHED})
"""Good news stays in the app by default; everything else needs the owner and also goes by email."""
