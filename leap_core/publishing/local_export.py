"""The local export target: the embedded default's "platform" is a folder a person can open.

The folder is assembled as `.<recording>.partial` beside its final name and renamed into place, so a
reader never sees half an export; any failure on the way (a full disk above all) removes the partial
folder before the error leaves, and `leap_core.cleanup` removes one a killed worker left behind.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from leap_core import disk
from leap_core.config import Settings
from leap_core.errors import StageError
from leap_core.paths import inside
from leap_core.storage import RecordingFiles

STAGE = "upload:local"
PARTIAL_SUFFIX = ".partial"


def staging_folder(final: Path) -> Path:
    return final.parent / f".{final.name}{PARTIAL_SUFFIX}"


def export_recording(
    files: RecordingFiles, video: Path, export_root: Path, folder: str, metadata: dict[str, Any],
    settings: Settings | None = None,
) -> Path:
    """Copy the video, subtitles, transcript and topics plus a metadata.json; a re-run replaces the folder.

    With `settings`, the export root's free space is checked first against what will be copied.
    """
    if not video.exists():
        raise StageError(STAGE, f"the trimmed video {video.name} is missing; retry from the trim stage")
    final = inside(export_root, *folder.split("/"))
    extras = [p for p in (files.srt, files.vtt, files.transcript, files.topics) if p.exists()]
    needed = disk.files_size([video, *extras])
    staging = staging_folder(final)
    shutil.rmtree(staging, ignore_errors=True)
    if settings is not None:
        with disk.writing(STAGE, export_root, needed, settings, "export"):
            return _assemble(staging, final, video, extras, metadata)
    return _assemble(staging, final, video, extras, metadata)


def _assemble(staging: Path, final: Path, video: Path, extras: list[Path], metadata: dict[str, Any]) -> Path:
    try:
        staging.mkdir(parents=True)
        shutil.copyfile(video, staging / f"video{video.suffix}")
        for extra in extras:
            shutil.copyfile(extra, staging / extra.name)
        (staging / "metadata.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False, default=str))
        shutil.rmtree(final, ignore_errors=True)
        staging.replace(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final
