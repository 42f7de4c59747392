"""A folder on this machine as a source: the embedded default's inbox.

Where the folder may be is decided before a client is made (`leap_core.paths.confine_local_source`);
inside it, a symlink that leads out of the folder is neither listed nor read, so a link planted after
the source was added cannot reach another user's files or LEAP's storage.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from leap_core.errors import DownloadMismatchError, StageError
from leap_core.paths import is_within
from leap_core.sources.base import ProgressCallback, SourceFile

log = logging.getLogger(__name__)

MEDIA_EXTENSIONS = frozenset(
    {"mp4", "mkv", "mov", "webm", "avi", "m4v", "m4a", "mp3", "wav", "aac", "ogg", "flac"}
)


class LocalFolderSource:
    """Lists media files below a folder; file identity is the path relative to it.

    A file still being copied in looks complete to the filesystem, so the sync takes it only once its
    size and mtime have held for LEAP_INTAKE_STABLE_SECONDS (`needs_stable_size`); the mtime travels in
    `extra["mtime_ns"]`, so the download can tell the file it copies is still the one registered.
    """

    needs_stable_size = True

    def __init__(self, path: Path) -> None:
        self.path = path

    def list_files(self) -> Iterator[SourceFile]:
        if not self.path.is_dir():
            return
        for root, _dirs, names in os.walk(self.path):  # symlinked folders are not descended into
            for name in sorted(names):
                full = Path(root) / name
                extension = full.suffix.lower().lstrip(".")
                if name.startswith(".") or extension not in MEDIA_EXTENSIONS:
                    continue
                if full.is_symlink() and not is_within(full, self.path):
                    log.warning("skipping %s in a local source: a symlink leading out of the folder", name)
                    continue
                stat = full.stat()
                yield SourceFile(
                    file_id=full.relative_to(self.path).as_posix(),
                    name=name,
                    size=stat.st_size,
                    recorded_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                    extension=extension,
                    extra={"mtime_ns": str(stat.st_mtime_ns)},
                )

    def download(self, file: SourceFile, dest: Path, progress: ProgressCallback | None = None) -> int:
        src = (self.path / file.file_id).resolve()  # read where it leads now, checked, not the link again
        if not is_within(src, self.path):
            raise StageError("download", f"source file {file.file_id!r} leads out of {self.path}; not read")
        if not src.is_file():
            raise StageError("download", f"source file {file.file_id!r} is no longer in {self.path}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        try:
            before = src.stat()
            shutil.copyfile(src, tmp)
            size = tmp.stat().st_size
            problem = _mismatch(file, before, src.stat(), size)
            if problem:
                raise DownloadMismatchError(f"download of {file.file_id!r} is not the registered file: {problem}")
            tmp.replace(dest)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a short, changed or disk-full copy leaves nothing behind
            raise
        if progress is not None:
            progress(size, size)
        return size


def _mismatch(file: SourceFile, before: os.stat_result, after: os.stat_result, copied: int) -> str | None:
    """Why the copy is not the file the sync registered, or None when it is."""
    if file.size is not None and copied != file.size:
        return f"{copied:,} of {file.size:,} bytes (the source file changed after it was registered)"
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        return "the source file changed while it was being copied"
    registered = file.extra.get("mtime_ns")
    if registered and registered != str(before.st_mtime_ns):
        return "the source file was modified after it was registered (it comes in as a new recording)"
    return None
