"""What every source (local folder, Zoom, Yandex Disk) offers the sync: a listing, a download, typed failures.

The failures and Zoom's default file types live here rather than in `http`/`zoom`, so the sync and the
API can name them without loading an HTTP client (keeps each Dagster run worker's start-up fast).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from leap_core.errors import LeapError

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes done, total bytes or None) while a download streams."""

DEFAULT_PREFERRED_TYPES: tuple[str, ...] = (
    "shared_screen_with_speaker_view",
    "shared_screen_with_speaker_view(CC)",
    "speaker_view",
    "active_speaker",
    "shared_screen_with_gallery_view",
    "shared_screen",
    "gallery_view",
)
"""Zoom's recording file types, most preferred first (see `leap_core.sources.zoom`)."""


class SourceError(LeapError):
    """A source could not be listed or read; the sync reports it and carries on with the other sources."""


class SourceAuthError(SourceError):
    """The platform rejected the stored credential: the user must reconnect the source."""


class SourceUnavailableError(SourceError):
    """The platform could not be reached or kept failing; a later sync may succeed without any change."""


@dataclass(frozen=True)
class SourceFile:
    """One recording as the source reports it.

    `file_id` is the platform's own stable identity and is what deduplicates registrations; `complete`
    is False while the platform (or a copy into the inbox) is still producing the file, which makes
    the recording PENDING_SOURCE instead of INITIALIZED.
    """

    file_id: str
    name: str
    size: int | None
    recorded_at: datetime | None
    complete: bool = True
    duration_s: float | None = None
    extension: str = "mp4"
    extra: dict[str, str] = field(default_factory=dict)


def fingerprint(file: SourceFile) -> str:
    """What identifies this content of the file, to notice a replacement under the same file id.

    The platform's checksum where it gives one (Yandex Disk's md5), else the size with the modification
    time a local folder reports (`extra["mtime_ns"]`), else the size alone (Zoom lists nothing more).
    """
    md5 = file.extra.get("md5")
    if md5:
        return f"md5:{md5}"
    mtime = file.extra.get("mtime_ns")
    return f"size:{file.size}" + (f";mtime_ns:{mtime}" if mtime else "")


class SourceClient(Protocol):
    def list_files(self) -> Iterator[SourceFile]:
        """Every file the source currently offers (paged internally), newest listing semantics."""
        ...

    def download(self, file: SourceFile, dest: Path, progress: ProgressCallback | None = None) -> int:
        """Stream the file to `dest` (written to a temp name, renamed on success); returns bytes written.

        The copy is checked against the listing's size (and checksum where the platform gives one);
        raises `leap_core.errors.DownloadMismatchError` when it differs and `StageError("download", ...)`
        on a failed download, leaving no partial file either way.
        """
        ...
