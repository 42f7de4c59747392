"""The sweep of what killed workers leave: temporary and partial files go, unless a run may still be working
on their recording or they are younger than the grace period; finished outputs and resume state stay."""

from __future__ import annotations

import os
import time
from pathlib import Path

from leap_core import cleanup
from leap_core.api import UserAPI
from leap_core.stages import DOWNLOAD
from leap_core.states import RecordingStatus
from tests.support.builders import add_inbox, force_status, register_many


def touch(path: Path, size: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def test_strays_of_recordings_no_run_works_on_are_removed_and_everything_else_stays(
    alice: UserAPI, tmp_path: Path
) -> None:
    add_inbox(alice, tmp_path, process_on_arrival=False)
    failed, running, deleted = register_many(alice, 3)
    force_status(alice, [failed], RecordingStatus.FAILED, "trim")
    force_status(alice, [running], RecordingStatus.PROCESSING)
    settings = alice.leap.settings
    storage, export = settings.resolved_storage_dir / "alice", settings.resolved_export_dir / "alice"

    strays = [
        touch(storage / failed / ".leap-trim-k3j2h1" / "partial.mp4", 5000).parent,  # a killed trim's work folder
        touch(storage / failed / ".source.mp4.a1b2c3.part", 700),              # a cut-off remote download
        touch(storage / failed / ".transcript.json.tmp"),
        touch(storage / failed / "transcript.chunks" / ".chunk-0003.json.tmp"),
        touch(storage / failed / "transcript.chunks" / "upload-0004.mp3"),    # a failed OpenAI send's chunk
        touch(export / f".{failed}.partial" / "video.mp4", 2000).parent,       # a partial export
        touch(storage / "01JUNKNOWNRECORDING0000000" / ".source.mp4.part"),   # no such recording any more
    ]
    kept = [
        touch(storage / failed / "source.mp4"), touch(storage / failed / "trimmed.mp4"),
        touch(storage / failed / "transcript.chunks" / "chunk-0001.json"),  # resume state (ADR 0004)
        touch(storage / failed / "transcript.chunks" / "chunks.json"),
        touch(storage / running / ".leap-trim-live" / "partial.mp4"),         # a run may be writing it
        touch(export / f".{running}.partial" / "video.mp4"),
        touch(export / failed / "video.mp4"),                                # a finished export
    ]
    young = touch(storage / deleted / ".source.mp4.part")
    later = time.time() + 3600
    os.utime(young, (later - 10, later - 10))

    with alice.leap.db.session() as session:
        report = cleanup.sweep(session, settings, now=later)

    assert sorted(report.removed) == sorted(str(p) for p in strays)
    assert report.freed_bytes == 5000 + 700 + 100 + 100 + 100 + 2000 + 100
    assert (report.kept_in_flight, report.kept_young) == (2, 1)
    assert not any(p.exists() for p in strays)
    assert all(p.exists() for p in [*kept, young])


def test_a_sweep_with_nothing_to_remove_asks_the_database_nothing(alice: UserAPI, tmp_path: Path) -> None:
    add_inbox(alice, tmp_path)
    touch(alice.leap.settings.resolved_storage_dir / "alice" / "01RECORDING000000000000000" / "source.mp4")
    with alice.leap.db.session() as session:
        report = cleanup.sweep(session, alice.leap.settings, now=time.time() + 3600)
    assert report.as_dict() == {"removed": 0, "freed_bytes": 0, "kept_in_flight": 0, "kept_young": 0,
                                "resume_after": ""}


def test_a_budgeted_sweep_resumes_where_it_stopped_and_covers_every_folder(alice: UserAPI, tmp_path: Path) -> None:
    add_inbox(alice, tmp_path, process_on_arrival=False)
    ids = register_many(alice, 4)
    force_status(alice, ids, RecordingStatus.FAILED, "trim")
    storage = alice.leap.settings.resolved_storage_dir / "alice"
    strays = [touch(storage / rid / ".source.mp4.part") for rid in ids]
    later, cursor, passes = time.time() + 3600, "", 0
    with alice.leap.db.session() as session:
        while True:  # a zero budget stops after each folder: one folder per call
            report = cleanup.sweep(session, alice.leap.settings, now=later, start_after=cursor, budget_s=0)
            passes += 1
            cursor = report.resume_after
            if not cursor:
                break
    assert passes == len(ids) + 1  # one folder a call, and a last call that finds the walk complete
    assert not any(p.exists() for p in strays)


def test_a_dead_runs_partial_files_go_at_once_and_its_neighbours_keep_theirs(alice: UserAPI, tmp_path: Path) -> None:
    """A SIGKILLed download leaves `.source.mp4.part` seconds old: failing the run removes it (and a trim work
    folder, an export staging folder) without waiting for the sweep's age guard; outputs and resume state
    stay, and so do another recording's in-flight files."""
    add_inbox(alice, tmp_path, process_on_arrival=False)
    dead, other = register_many(alice, 2)
    force_status(alice, [dead], RecordingStatus.INITIALIZED)
    force_status(alice, [other], RecordingStatus.PROCESSING)
    alice.leap.pipeline.stages._enter(dead, DOWNLOAD, "run-dead")
    settings = alice.leap.settings
    storage, export = settings.resolved_storage_dir / "alice", settings.resolved_export_dir / "alice"
    strays = [touch(storage / dead / ".source.mp4.part"), touch(storage / dead / ".leap-trim-x1" / "a.mp4").parent,
              touch(export / f".{dead}.partial" / "video.mp4").parent]
    kept = [touch(storage / dead / "transcript.chunks" / "chunk-0001.json"),
            touch(storage / other / ".source.mp4.part"), touch(export / f".{other}.partial" / "video.mp4")]

    assert alice.leap.pipeline.mark_run_died(dead, "run-dead", "run run-dead died: its run worker is gone")

    assert alice.recording(dead)["status"] == "FAILED"
    assert not any(p.exists() for p in strays)
    assert all(p.exists() for p in kept)
