"""Free space, checked before each stage that writes, and a disk that fills mid-write, as one typed error.

A full disk used to surface as "unexpected OSError: [Errno 28]" after a stage had written most of a file
and left it behind, holding the disk at 100 %. Each writing stage now estimates what it will write
(download: the listed size; trim: about the source's size; export: the trimmed video and its text files),
refuses up front when that plus `LEAP_DISK_MARGIN_MB` is not free, and turns ENOSPC met anyway — from
Python, PyAV or an ffmpeg child — into `DiskFullError`, so the recording is FAILED at that stage with
"disk full at <stage>: need N, have M". Removing the partial file is each writer's job (they all write
beside the destination and rename); `leap_core.cleanup` sweeps what a killed process could not remove.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from leap_core.config import Settings
from leap_core.errors import DiskFullError, MediaError

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
FFMPEG_FULL = "No space left on device"
"""How ffmpeg's last stderr line reads when a write hit ENOSPC (its strerror): the child's errno is not ours."""


def free_bytes(path: Path) -> int:
    """Free bytes on the filesystem that holds `path` (or would: its nearest existing ancestor)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def margin_bytes(settings: Settings) -> int:
    return int(settings.disk_margin_mb * (1 << 20))


def files_size(paths: Iterable[Path]) -> int:
    """What copying these files would write: the estimate for an export."""
    return sum(p.stat().st_size for p in paths if p.is_file())


def ensure_free(stage: str, folder: Path, needed: int, settings: Settings, where: str = "") -> None:
    """Refuse before writing: `needed` bytes plus the margin must be free where `folder` lives."""
    need = max(needed, 0) + margin_bytes(settings)
    have = free_bytes(folder)
    if have < need:
        raise DiskFullError(stage, need, have, where)


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT from this process (OSError, PyAV's errors are OSErrors too) or from an ffmpeg child."""
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        return True
    return isinstance(exc, MediaError) and FFMPEG_FULL in str(exc)


@contextmanager
def writing(stage: str, folder: Path, needed: int, settings: Settings, where: str = "") -> Iterator[None]:
    """Check the space, run the body, and report a disk that filled anyway as `DiskFullError`.

    The body has removed its partial files by the time this sees the error (they are written beside
    their destination and cleaned up on the way out), so `have` is what is free after that clean-up.
    """
    ensure_free(stage, folder, needed, settings, where)
    try:
        yield
    except DiskFullError:
        raise
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        place = f"{where}, " if where else ""
        raise DiskFullError(stage, max(needed, 0) + margin_bytes(settings), free_bytes(folder),
                            f"{place}ran out while writing") from None


def write_text_atomic(path: Path, text: str) -> None:
    """`path` holds the old text or the new one, never half of it: written beside it, then renamed over it.

    A full disk (or any error) leaves no temporary file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
