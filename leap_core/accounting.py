"""What one recording holds on disk, and keeping the user's counters equal to it (ADR 0027).

Storage: `Recording.storage_bytes` is what the user's storage counter holds for the recording — its
announced size, reserved at registration, until a download completes; from then on exactly its files
in storage plus its local export copy. Every path that writes or removes a recording's files (a stage,
the export, delete, archive, restore) moves the counter by the change of that one number, so the
user's counter is always the sum over their live recordings, and `leap admin usage verify` can compare
both with the disk.

Transcription: a recording is charged once, on its trimmed duration, in the month it was first
transcribed (`transcription_s`, `transcription_period`); re-runs, retries and reprocesses that reuse or
redo the transcript are not charged again.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core import usage
from leap_core.config import Settings
from leap_core.db.models import ProcessingStage, Recording
from leap_core.paths import inside
from leap_core.stages import TRIM
from leap_core.storage import RecordingFiles, recording_files


def folder_bytes(folder: Path) -> int:
    if not folder.exists():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def export_folder(export_dir: Path, user_slug: str, recording_id: str) -> Path:
    """The local export target's folder: `<export>/<user_slug>/<recording_id>/` (as the export step writes it)."""
    return inside(export_dir, user_slug, recording_id)


@dataclass(frozen=True)
class RecordingDisk:
    """Everything of one recording LEAP keeps on disk: its storage folder and its local export copy."""

    files: RecordingFiles
    export: Path

    def storage_bytes(self) -> int:
        return self.files.size_bytes()

    def export_bytes(self) -> int:
        return folder_bytes(self.export)

    def size_bytes(self) -> int:
        return self.storage_bytes() + self.export_bytes()

    def remove(self) -> None:
        self.files.remove()
        shutil.rmtree(self.export, ignore_errors=True)


def recording_disk(settings: Settings, user_slug: str, recording: Recording) -> RecordingDisk:
    return RecordingDisk(
        recording_files(settings.resolved_storage_dir, user_slug, recording.id, recording.extension),
        export_folder(settings.resolved_export_dir, user_slug, recording.id),
    )


def settle_storage(session: Session, recording: Recording, counted_bytes: int) -> int:
    """Make the recording count `counted_bytes`; the user's counter moves by the difference (returned)."""
    delta = counted_bytes - recording.storage_bytes
    if delta > 0:
        usage.add_storage(session, recording.user_id, delta)
    elif delta < 0:
        usage.release_storage(session, recording.user_id, -delta)
    if delta:
        recording.storage_bytes = counted_bytes
    return delta


def trimmed_duration(session: Session, recording: Recording) -> float | None:
    """The recording's final duration: what its last completed trim kept (the download's duration before)."""
    details = session.scalar(
        select(ProcessingStage.details)
        .where(ProcessingStage.recording_id == recording.id, ProcessingStage.stage == TRIM.name,
               ProcessingStage.status == "completed")
        .order_by(ProcessingStage.id.desc()).limit(1))
    kept = (details or {}).get("output_duration")
    if isinstance(kept, int | float) and not isinstance(kept, bool) and kept > 0:
        return float(kept)
    return recording.duration_s


def charge_transcription(session: Session, recording: Recording) -> float:
    """Charge the recording's trimmed duration to this month's transcription seconds, the first time only.

    Returns the seconds charged now (0 when it was charged before: a re-run reusing the cached chunks, a
    retry, a reprocess with another model — the user asked for one transcription of this recording).
    """
    if recording.transcription_s is not None:
        return 0.0
    seconds = trimmed_duration(session, recording)
    if not seconds:
        return 0.0
    charged = round(seconds, 3)
    counted = usage.add_transcription_seconds(session, recording.user_id, charged)
    recording.transcription_s, recording.transcription_period = charged, counted.period
    return charged
