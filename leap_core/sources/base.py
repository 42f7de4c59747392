"""What every source (local folder, Zoom, Yandex Disk) offers the sync: a listing and a download."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes done, total bytes or None) while a download streams."""


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


class SourceClient(Protocol):
    def list_files(self) -> Iterator[SourceFile]:
        """Every file the source currently offers (paged internally), newest listing semantics."""
        ...

    def download(self, file: SourceFile, dest: Path, progress: ProgressCallback | None = None) -> int:
        """Stream the file to `dest` (written to a temp name, renamed on success); returns bytes written.

        Raises `leap_core.errors.StageError("download", ...)` on a short or failed download.
        """
        ...
