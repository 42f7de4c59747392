"""A full disk, for real: small tmpfs filesystems under storage and export (the tests run as root; they skip
where `mount` is refused). Each writing stage refuses up front when its estimate does not fit, turns ENOSPC
met mid-write into "disk full at <stage>: need N, have M", fails the recording at that stage, and leaves
no partial file behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from leap_core import disk
from leap_core.api import UserAPI
from leap_core.db.types import utcnow
from leap_core.errors import DiskFullError
from leap_core.pipeline.facade import Pipeline
from leap_core.states import RecordingStatus
from tests.core.sources.test_intake import rows, sync
from tests.support.builders import add_inbox, force_status, register_many

MiB = 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")
SmallDisk = Callable[[int], Path]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """`small_disk(bytes)`: a fresh tmpfs of that size, unmounted at the end of the test."""
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        point = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode(errors='replace').strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def files_under(folder: Path) -> list[str]:
    """Every file and every dotted (temporary) folder below `folder`; plain folders left empty do not count."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.name.startswith("."))


def taken(api: UserAPI, inbox: Path, size: int) -> str:
    """One local recording of `size` bytes, registered and INITIALIZED."""
    (inbox / "lecture.mp4").write_bytes(os.urandom(size))
    start = utcnow()
    sync(api, start)
    sync(api, start + timedelta(seconds=1))
    (recording,) = rows(api)
    assert recording.status is RecordingStatus.INITIALIZED
    return recording.id


def transcribed(api: UserAPI, tmp_path: Path) -> tuple[str, Path]:
    """One recording moved to TRANSCRIBED, ready to export, and its (empty) storage folder."""
    add_inbox(api, tmp_path, process_on_arrival=False)
    (recording_id,) = register_many(api, 1)
    force_status(api, [recording_id], RecordingStatus.TRANSCRIBED)
    folder = api.leap.settings.resolved_storage_dir / api.user.slug / recording_id
    folder.mkdir(parents=True)
    return recording_id, folder


def test_the_message_says_the_stage_and_both_sizes() -> None:
    error = DiskFullError("trim", 5 * MiB + 1, 1000, "storage")
    assert str(error) == "disk full at trim: need 5.0 MiB (5,242,881 bytes), have 1,000 bytes (storage)"
    assert error.stage == "trim" and (error.need, error.have) == (5 * MiB + 1, 1000)


def test_a_download_that_cannot_fit_is_refused_before_writing_and_fails_the_recording(
    alice: UserAPI, tmp_path: Path, small_disk: SmallDisk
) -> None:
    alice.leap.settings.storage_dir = small_disk(2 * MiB)
    alice.leap.settings.disk_margin_mb = 0
    inbox = add_inbox(alice, tmp_path, process_on_arrival=False)
    recording_id = taken(alice, inbox, 3 * MiB)

    with pytest.raises(DiskFullError) as raised:
        Pipeline(alice.leap.settings, alice.leap.db).download(recording_id)

    message = str(raised.value)
    assert message.startswith("disk full at download: need 3.0 MiB (3,145,728 bytes), have 2.0 MiB")
    view = alice.recording(recording_id)
    assert (view["status"], view["failed_at_stage"], view["error"]) == ("FAILED", "download", message)
    assert files_under(alice.leap.settings.resolved_storage_dir) == []


def test_enospc_in_the_middle_of_a_download_is_disk_full_and_leaves_no_partial_file(
    alice: UserAPI, tmp_path: Path, small_disk: SmallDisk
) -> None:
    alice.leap.settings.storage_dir = small_disk(2 * MiB)
    alice.leap.settings.disk_margin_mb = 0
    inbox = add_inbox(alice, tmp_path, process_on_arrival=False)
    recording_id = taken(alice, inbox, 1 * MiB)  # registered at 1 MiB: the estimate fits
    (inbox / "lecture.mp4").write_bytes(os.urandom(3 * MiB))  # …but the file grew before the download

    with pytest.raises(DiskFullError, match=r"^disk full at download: .*ran out while writing\)$"):
        Pipeline(alice.leap.settings, alice.leap.db).download(recording_id)

    view = alice.recording(recording_id)
    assert (view["status"], view["failed_at_stage"]) == ("FAILED", "download")
    assert view["error"].startswith("disk full at download")
    assert files_under(alice.leap.settings.resolved_storage_dir) == []  # no .part, no source


def test_enospc_in_the_middle_of_an_export_removes_the_partial_export_and_fails_the_target(
    alice: UserAPI, tmp_path: Path, small_disk: SmallDisk
) -> None:
    recording_id, folder = transcribed(alice, tmp_path)
    (folder / "trimmed.mp4").write_bytes(os.urandom(MiB + 123))
    (folder / "subtitles.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n" * 50)
    (folder / "transcript.json").write_text('{"segments": []}' * 200)
    export = small_disk(4 * MiB)
    alice.leap.settings.export_dir = export
    alice.leap.settings.disk_margin_mb = 0
    needed = disk.files_size([folder / "trimmed.mp4", folder / "subtitles.srt", folder / "transcript.json"])
    # Leave exactly the estimate free, in whole pages: it passes the check, but the copies round up to
    # pages each and metadata.json needs one more, so the disk fills in the middle of the export.
    ballast = export / "ballast.bin"
    ballast.write_bytes(b"\0" * (disk.free_bytes(export) - -(-needed // PAGE) * PAGE))
    assert disk.free_bytes(export) >= needed

    with pytest.raises(DiskFullError) as raised:
        Pipeline(alice.leap.settings, alice.leap.db).export_local(recording_id)

    assert str(raised.value).startswith("disk full at upload:local: need ")
    assert str(raised.value).endswith("(export, ran out while writing)")
    assert files_under(export) == ["ballast.bin"]  # no .partial folder
    view = alice.recording(recording_id)
    (target,) = view["targets"]
    assert (target["status"], target["error"]) == ("FAILED", str(raised.value))
    assert view["status"] == "FAILED" and view["error"] == str(raised.value)


def test_an_export_that_cannot_fit_is_refused_and_leaves_the_export_untouched(
    alice: UserAPI, tmp_path: Path, small_disk: SmallDisk
) -> None:
    recording_id, folder = transcribed(alice, tmp_path)
    (folder / "trimmed.mp4").write_bytes(os.urandom(3 * MiB))
    alice.leap.settings.export_dir = small_disk(2 * MiB)
    alice.leap.settings.disk_margin_mb = 0

    with pytest.raises(DiskFullError, match=r"^disk full at upload:local: need 3\.0 MiB .*, have 2\.0 MiB"):
        Pipeline(alice.leap.settings, alice.leap.db).export_local(recording_id)
    assert files_under(alice.leap.settings.resolved_export_dir) == []


def test_the_margin_is_part_of_what_a_stage_needs(tmp_path: Path, small_disk: SmallDisk) -> None:
    from leap_core.config import Settings

    place = small_disk(8 * MiB)
    settings = Settings(disk_margin_mb=4)
    disk.ensure_free("trim", place, 3 * MiB, settings)
    with pytest.raises(DiskFullError, match=r"need 9\.0 MiB"):
        disk.ensure_free("trim", place, 5 * MiB, settings)
    shutil.rmtree(place / "nothing", ignore_errors=True)


@pytest.fixture
def compact_lecture(tmp_path: Path) -> Path:
    """A lecture encoded far more compactly (CRF 45, veryslow) than LEAP re-encodes (CRF 18, veryfast): its
    re-encoded trim is ~2.5 times the source, so "trim ≈ source size" under-estimates it — as it would
    for a phone recording — and the disk fills in the middle of the cut, inside ffmpeg and PyAV."""
    from leap_core.media.ffmpeg import ffmpeg_binary
    from tests.fixtures.media import make_lecture

    out = tmp_path / "compact.mp4"
    subprocess.run([ffmpeg_binary(), "-v", "error", "-i", str(make_lecture().path), "-c:v", "libx264", "-crf", "45",
                    "-preset", "veryslow", "-c:a", "copy", str(out)], check=True)
    return out


def test_enospc_in_the_middle_of_a_trim_is_disk_full_and_leaves_no_work_folder(
    alice: UserAPI, tmp_path: Path, small_disk: SmallDisk, compact_lecture: Path
) -> None:
    add_inbox(alice, tmp_path, process_on_arrival=False)
    alice.templates_api.update("inbox", trim={"blank_min_speech_s": 3.0, "min_duration_s": 2.0, "method": "reencode"})
    (recording_id,) = register_many(alice, 1)
    force_status(alice, [recording_id], RecordingStatus.DOWNLOADED)
    storage = small_disk(2 * MiB)
    alice.leap.settings.storage_dir = storage
    alice.leap.settings.disk_margin_mb = 0
    folder = storage / "alice" / recording_id
    folder.mkdir(parents=True)
    shutil.copyfile(compact_lecture, folder / "source.mp4")
    source_size = (folder / "source.mp4").stat().st_size
    (storage / "ballast.bin").write_bytes(b"\0" * (disk.free_bytes(storage) - source_size - 64 * 1024))
    assert disk.free_bytes(storage) >= source_size  # the estimate fits: the check lets the trim start

    with pytest.raises(DiskFullError) as raised:
        Pipeline(alice.leap.settings, alice.leap.db).trim(recording_id)

    message = str(raised.value)
    assert message.startswith("disk full at trim: need ") and message.endswith("(storage, ran out while writing)")
    view = alice.recording(recording_id)
    assert (view["status"], view["failed_at_stage"], view["error"]) == ("FAILED", "trim", message)
    assert files_under(storage) == [f"alice/{recording_id}/source.mp4", "ballast.bin"]  # no .leap-trim-*, trimmed
