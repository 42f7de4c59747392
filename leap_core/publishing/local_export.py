"""The local export target: the embedded default's "platform" is a folder a person can open."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from leap_core.errors import StageError
from leap_core.paths import inside
from leap_core.storage import RecordingFiles


def export_recording(
    files: RecordingFiles, video: Path, export_root: Path, folder: str, metadata: dict[str, Any]
) -> Path:
    """Copy the video, subtitles, transcript and topics plus a metadata.json; a re-run replaces the folder."""
    if not video.exists():
        raise StageError("upload:local", f"the trimmed video {video.name} is missing; retry from the trim stage")
    final = inside(export_root, *folder.split("/"))
    staging = final.parent / f".{final.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copyfile(video, staging / f"video{video.suffix}")
    for extra in (files.srt, files.vtt, files.transcript, files.topics):
        if extra.exists():
            shutil.copyfile(extra, staging / extra.name)
    (staging / "metadata.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False, default=str))
    shutil.rmtree(final, ignore_errors=True)
    staging.replace(final)
    return final
