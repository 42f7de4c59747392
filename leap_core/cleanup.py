"""What a killed worker could not remove: temporary and partial files under storage and export.

Every writer in LEAP writes beside its destination under a dotted temporary name and renames at the end,
and removes the temporary on any error it sees (`leap_core.disk`). A SIGKILL, an OOM kill or a power cut
sees no error: it leaves a `.leap-trim-*` folder, a `.source.<ext>….part`, a `.<name>.tmp` or an
export's `.<recording>.partial` behind for good, and on a full disk that is the space the retry needs.
`sweep` removes them, except in folders of recordings a run may still be working on (an in-flight
state) and except entries younger than `min_age_s`, so a run that is just starting keeps its files.
Transcription's chunk results (`transcript.chunks/chunk-*.json`) are resume state, not strays (ADR 0004);
an OpenAI upload chunk left there (`upload-*.mp3`) is one whose send failed, and is encoded again.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core.config import Settings
from leap_core.db.models import Recording
from leap_core.states import IN_FLIGHT

log = logging.getLogger(__name__)

MIN_AGE_S = 300.0
"""Younger entries are left alone: a run that is starting may have written them after the states were read."""
TRIM_WORKDIR_PREFIX = ".leap-trim-"
TEMP_SUFFIXES = (".part", ".tmp", ".tmp.mp3")
EXPORT_PARTIAL_SUFFIX = ".partial"
CHUNKS_FOLDER = "transcript.chunks"
UPLOAD_CHUNK_PREFIX = "upload-"
QUERY_BATCH = 1000


@dataclass
class SweepReport:
    removed: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    kept_in_flight: int = 0
    kept_young: int = 0
    resume_after: str = ""
    """Where a budgeted sweep stopped (`<user>/<recording>`); "" when it visited the whole tree."""

    def as_dict(self) -> dict[str, int | str]:
        return {"removed": len(self.removed), "freed_bytes": self.freed_bytes,
                "kept_in_flight": self.kept_in_flight, "kept_young": self.kept_young,
                "resume_after": self.resume_after}


def _is_temp(entry: os.DirEntry[str]) -> bool:
    if entry.name.startswith(TRIM_WORKDIR_PREFIX):
        return entry.is_dir(follow_symlinks=False)
    return entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIXES) and entry.is_file(follow_symlinks=False)


def _is_upload_chunk(entry: os.DirEntry[str]) -> bool:
    """An OpenAI upload chunk (`upload-0003.mp3`) is removed after it is sent; one left is from a failed send
    and is encoded again on the next attempt, so it is not resume state."""
    return entry.name.startswith(UPLOAD_CHUNK_PREFIX) and entry.name.endswith(".mp3")


def _children(folder: Path) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            yield from list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return


def folder_strays(folder: Path) -> Iterator[Path]:
    """The strays in one recording's storage folder and its chunk folder."""
    for entry in _children(folder):
        if _is_temp(entry):
            yield Path(entry.path)
    for entry in _children(folder / CHUNKS_FOLDER):
        if _is_temp(entry) or _is_upload_chunk(entry):
            yield Path(entry.path)


def storage_strays(storage: Path, start_after: str = "", deadline: float | None = None,
                   progress: list[str] | None = None) -> Iterator[tuple[str, Path]]:
    """(recording id, stray path) under `<storage>/<user>/<recording>/` and its chunk folder.

    Folders are visited in `<user>/<recording>` order from after `start_after`; past `deadline`
    (time.monotonic) it stops and leaves the last folder it finished in `progress[0]`, so the next call
    resumes there ("" once the whole tree was visited).
    """
    if progress is not None:
        progress[:] = [""]
    for user in sorted(_children(storage), key=lambda e: e.name):
        if not user.is_dir(follow_symlinks=False) or (start_after and user.name < start_after.split("/")[0]):
            continue
        for recording in sorted(_children(Path(user.path)), key=lambda e: e.name):
            key = f"{user.name}/{recording.name}"
            if not recording.is_dir(follow_symlinks=False) or key <= start_after:
                continue
            for path in folder_strays(Path(recording.path)):
                yield recording.name, path
            if deadline is not None and time.monotonic() >= deadline:
                if progress is not None:
                    progress[:] = [key]
                return


def export_strays(export: Path) -> Iterator[tuple[str, Path]]:
    """(recording id, partial folder) for `<export>/<user>/.<recording>.partial` (`local_export`)."""
    for user in _children(export):
        if not user.is_dir(follow_symlinks=False):
            continue
        for entry in _children(Path(user.path)):
            name = entry.name
            if name.startswith(".") and name.endswith(EXPORT_PARTIAL_SUFFIX) and entry.is_dir(follow_symlinks=False):
                yield name[1:-len(EXPORT_PARTIAL_SUFFIX)], Path(entry.path)


def _in_flight(session: Session, recording_ids: set[str]) -> set[str]:
    ids = sorted(recording_ids)
    busy: set[str] = set()
    for start in range(0, len(ids), QUERY_BATCH):
        busy.update(session.scalars(select(Recording.id).where(
            Recording.id.in_(ids[start:start + QUERY_BATCH]), Recording.status.in_(IN_FLIGHT))))
    return busy


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep(session: Session, settings: Settings, min_age_s: float = MIN_AGE_S, now: float | None = None,
          start_after: str = "", budget_s: float | None = None) -> SweepReport:
    """Remove the strays of every recording that no run is working on; one query per 1,000 recordings
    that have any (usually none), however many recordings storage holds.

    With `budget_s`, the walk of storage stops after about that long and `report.resume_after` says where
    the next call (`start_after`) picks up, so a sensor tick stays short over any number of recordings;
    the export folder (one listing per user) is swept at the start of each full pass.
    """
    now = time.time() if now is None else now
    deadline = None if budget_s is None else time.monotonic() + budget_s
    progress: list[str] = []
    found = [*storage_strays(settings.resolved_storage_dir, start_after, deadline, progress)]
    if not start_after:
        found += export_strays(settings.resolved_export_dir)
    report = SweepReport(resume_after=progress[0] if progress else "")
    if not found:
        return report
    busy = _in_flight(session, {recording_id for recording_id, _ in found})
    for recording_id, path in found:
        if recording_id in busy:
            report.kept_in_flight += 1
            continue
        try:
            if now - path.stat().st_mtime < min_age_s:
                report.kept_young += 1
                continue
            size = _size(path)
            _remove(path)
        except FileNotFoundError:  # its writer finished or removed it meanwhile
            continue
        report.removed.append(str(path))
        report.freed_bytes += size
        log.info("removed stray %s of recording %s (%d bytes)", path.name, recording_id, size)
    return report


def remove_strays_of(storage_folder: Path, export_partial: Path) -> list[str]:
    """Remove one recording's strays now, whatever their age: called once its run is known dead, so nothing
    can still be writing them and the retry (or a full disk) should not wait for the next sweep."""
    removed = []
    candidates = [*folder_strays(storage_folder), *([export_partial] if export_partial.is_dir() else [])]
    for path in candidates:
        try:
            size = _size(path)
            _remove(path)
        except FileNotFoundError:
            continue
        removed.append(str(path))
        log.info("removed stray %s of a dead run (%d bytes)", path.name, size)
    return removed
