"""What every publishing target offers the `*_video` assets: publish, update, delete, and typed failures.

A publish can be interrupted at any point (crash, 5xx, quota). The client reports JSON-able resume state
through a `Checkpoint` after each step; the caller persists it and passes it back as `resume_state`, so a
retried run continues the same upload, and a video that already exists on the platform is never uploaded
a second time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from leap_core.errors import LeapError

PrivacyStatus = Literal["public", "unlisted", "private"]

MAX_BACKOFF_S = 60.0

Checkpoint = Callable[[dict[str, Any]], None]
"""Called with the JSON-able resume state after each chunk or step; persist it before returning."""


@dataclass(frozen=True)
class PublishRequest:
    """One video and its metadata as the template renders it; platforms apply their own limits.

    `language` is the metadata's (title, description: a template may fix it); `spoken_language` is the
    transcript's, which the audio and the caption track carry. They differ when, say, an English-titled
    template transcribes with `auto` and a lecture turns out to be in Russian: its captions are Russian.
    """

    video_path: Path
    title: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    category_id: str | None = None
    language: str | None = None
    spoken_language: str | None = None
    privacy_status: PrivacyStatus = "private"
    publish_at: datetime | None = None
    playlist_id: str | None = None
    captions_srt: Path | None = None
    chapters: list[tuple[float, str]] = field(default_factory=list)
    thumbnail: Path | None = None
    """A JPEG for the platform's custom thumbnail; refused without a verified channel, which is no failure."""

    @property
    def captions_language(self) -> str | None:
        return self.spoken_language or self.language


@dataclass(frozen=True)
class PublishResult:
    """What the asset records: the platform's identity of the video and what this run cost."""

    platform: str
    video_id: str
    url: str
    bytes_sent: int
    resumed_from: int
    quota_units: int
    skipped: tuple[str, ...] = ()
    """Optional steps the platform refused, with why ("thumbnail: HTTP 403 ..."): the publish still counts."""


class Publisher(Protocol):
    def publish(
        self, req: PublishRequest, *, resume_state: dict[str, Any] | None, checkpoint: Checkpoint
    ) -> PublishResult:
        """Upload the video with its metadata, captions and playlist, continuing from `resume_state`."""
        ...

    def update_metadata(self, video_id: str, req: PublishRequest) -> None:
        """Replace a published video's metadata (and captions where the platform has them)."""
        ...

    def delete(self, video_id: str) -> None:
        """Remove the video from the platform; a video already gone counts as deleted."""
        ...


class PublishError(LeapError):
    """The platform refused or failed the publish; the message says why, without request dumps or tokens."""


class ReconnectRequired(PublishError):
    """The stored credentials were revoked or expired for good: retrying cannot help until the user
    connects the account again."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        super().__init__(f"{platform} rejected the stored credentials: reconnect the account")


class PublishParked(PublishError):
    """The platform asks LEAP to wait (daily quota, upload limit, flood control) until `retry_after`."""

    def __init__(self, retry_after: datetime, reason: str) -> None:
        self.retry_after = retry_after
        self.reason = reason
        super().__init__(f"{reason}; retry after {retry_after.isoformat(timespec='minutes')}")


class HumanActionRequired(PublishError):
    """The platform wants a person (captcha, account validation); LEAP never solves these itself."""

    def __init__(self, redirect_uri: str, reason: str) -> None:
        self.redirect_uri = redirect_uri
        self.reason = reason
        super().__init__(f"{reason}: a person must open {redirect_uri} and then retry")


def backoff_delay(attempt: int, base_s: float, cap_s: float = MAX_BACKOFF_S) -> float:
    """Exponential backoff with full jitter, so that workers retrying together spread out over time."""
    return random.uniform(0, min(cap_s, base_s * 2**attempt))
