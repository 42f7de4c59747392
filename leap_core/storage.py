"""Where a recording's files live: `<storage>/<user_slug>/<recording_id>/<fixed name>`.

Every stage derives its paths here, from the recording alone, so a retry or a backfill finds the
previous stage's output without any state passed between runs. The folder and the source's extension
go through `leap_core.paths`, so no platform-supplied value can place a file outside storage.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from leap_core.paths import inside, safe_extension


@dataclass(frozen=True)
class RecordingFiles:
    root: Path
    extension: str

    @property
    def source(self) -> Path:
        return self.root / f"source.{safe_extension(self.extension)}"

    @property
    def trimmed(self) -> Path:
        return self.root / "trimmed.mp4"

    @property
    def transcript(self) -> Path:
        return self.root / "transcript.json"

    @property
    def speech(self) -> Path:
        """The VAD's speech spans in the trimmed timeline: what the integrity gate judged the transcript by."""
        return self.root / "speech.json"

    @property
    def transcript_work(self) -> Path:
        return self.root / "transcript.chunks"

    @property
    def topics(self) -> Path:
        return self.root / "topics.json"

    @property
    def srt(self) -> Path:
        return self.root / "subtitles.srt"

    @property
    def vtt(self) -> Path:
        return self.root / "subtitles.vtt"

    def size_bytes(self) -> int:
        if not self.root.exists():
            return 0
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def recording_files(storage_dir: Path, user_slug: str, recording_id: str, extension: str) -> RecordingFiles:
    return RecordingFiles(inside(storage_dir, user_slug, recording_id), safe_extension(extension))
