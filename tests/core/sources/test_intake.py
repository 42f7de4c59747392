"""Intake: a file is taken only once it has held still for the window (measured on the sync's clock, not in
scans); a replaced file becomes a new recording with an audited `source_changed`; a copy that is not the
registered file fails the download, typed, leaving nothing behind."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from leap_core.api import UserAPI
from leap_core.db.models import Recording, Source
from leap_core.db.types import utcnow
from leap_core.errors import DownloadMismatchError
from leap_core.pipeline.facade import Pipeline
from leap_core.sources.sync import SyncSummary, sync_source
from tests.conftest import TEST_ACTOR
from tests.support.builders import add_inbox

HALF, WHOLE = 307_200, 688_751  # the sizes issue 15 saw: a 688,751-byte file taken at 307,200


def sync(api: UserAPI, now: datetime) -> SyncSummary:
    with api.leap.db.session() as session:
        source = session.scalars(select(Source).where(Source.user_id == api.user_id)).one()
        return sync_source(session, TEST_ACTOR, source, api.leap.settings, now=now)


def rows(api: UserAPI) -> list[Recording]:
    with api.leap.db.session() as session:
        found = list(session.scalars(select(Recording).where(Recording.user_id == api.user_id)
                                     .order_by(Recording.source_revision)))
        session.expunge_all()
        return found


def statuses(api: UserAPI) -> list[str]:
    return [r.status.value for r in rows(api)]


@pytest.mark.parametrize(("window", "scan", "pause"), [(30.0, 10.0, 25.0), (3.0, 1.0, 2.5)])
def test_a_writer_pausing_longer_than_a_scan_but_inside_the_window_is_not_taken_half_written(
    alice: UserAPI, tmp_path: Path, window: float, scan: float, pause: float
) -> None:
    alice.leap.settings.intake_stable_seconds = window
    inbox = add_inbox(alice, tmp_path, process_on_arrival=False)
    lecture = inbox / "lecture.mp4"
    start = utcnow()
    at = [start + timedelta(seconds=scan * i) for i in range(100)]

    lecture.write_bytes(b"x" * HALF)  # the writer stops here for `pause` seconds
    sync(alice, at[0])
    scans_in_pause = [t for t in at[1:] if t - at[0] < timedelta(seconds=pause)]
    assert len(scans_in_pause) >= 2  # the old rule (same size on two scans) would have taken it here
    for moment in scans_in_pause:
        sync(alice, moment)
        assert statuses(alice) == ["PENDING_SOURCE"]

    with lecture.open("ab") as out:  # the writer resumes and finishes
        out.write(b"y" * (WHOLE - HALF))
    resumed = at[len(scans_in_pause) + 1]
    sync(alice, resumed)
    assert statuses(alice) == ["PENDING_SOURCE"]
    before_window = [t for t in at if resumed < t < resumed + timedelta(seconds=window)]
    for moment in before_window:
        sync(alice, moment)
        assert statuses(alice) == ["PENDING_SOURCE"]
    summary = sync(alice, resumed + timedelta(seconds=window))
    assert summary.promoted and statuses(alice) == ["INITIALIZED"]
    (recording,) = rows(alice)
    assert recording.source_size == WHOLE
    assert recording.source_stable_since == resumed


def test_the_window_restarts_when_only_the_mtime_changes(alice: UserAPI, tmp_path: Path) -> None:
    alice.leap.settings.intake_stable_seconds = 30
    inbox = add_inbox(alice, tmp_path, process_on_arrival=False)
    lecture = inbox / "lecture.mp4"
    lecture.write_bytes(b"x" * 1000)
    start = utcnow()
    sync(alice, start)
    rewritten(lecture, later_s=5)
    sync(alice, start + timedelta(seconds=20))  # same size, new mtime: rewritten in place
    sync(alice, start + timedelta(seconds=40))  # 40 s after the first sight, 20 s after the change
    assert statuses(alice) == ["PENDING_SOURCE"]
    sync(alice, start + timedelta(seconds=50))
    assert statuses(alice) == ["INITIALIZED"]


def take(api: UserAPI, lecture: Path, content: bytes, start: datetime) -> None:
    lecture.write_bytes(content)
    sync(api, start)
    sync(api, start + timedelta(seconds=api.leap.settings.intake_stable_seconds))


def taken_lecture(api: UserAPI, tmp_path: Path, content: bytes, start: datetime) -> Path:
    """`lecture.mp4` in a new inbox (its template waits for a job), taken as a recording."""
    lecture = add_inbox(api, tmp_path, process_on_arrival=False) / "lecture.mp4"
    take(api, lecture, content, start)
    return lecture


def rewritten(lecture: Path, content: bytes | None = None, later_s: int = 60) -> None:
    """The file written again in place (or only touched): its mtime moves `later_s` seconds on."""
    if content is not None:
        lecture.write_bytes(content)
    os.utime(lecture, ns=(lecture.stat().st_atime_ns, lecture.stat().st_mtime_ns + later_s * 1_000_000_000))


@pytest.mark.parametrize("change", ["content", "mtime"])
def test_a_replaced_file_becomes_a_new_recording_with_an_audited_source_changed(
    alice: UserAPI, tmp_path: Path, change: str
) -> None:
    alice.leap.settings.intake_stable_seconds = 30
    start = utcnow()
    lecture = taken_lecture(alice, tmp_path, b"x" * 1000, start)
    (first,) = rows(alice)
    assert (first.status.value, first.source_revision) == ("INITIALIZED", 1)

    if change == "content":
        lecture.write_bytes(b"z" * 2000)  # the same name, another recording
    else:
        rewritten(lecture)
    later = start + timedelta(minutes=5)
    summary = sync(alice, later)
    assert len(summary.changed) == 1 and len(summary.registered) == 1
    old, new = rows(alice)
    assert (old.id, old.status.value, old.source_size) == (first.id, "INITIALIZED", 1000)  # untouched
    assert (new.source_file_id, new.source_revision, new.status.value) == ("lecture.mp4", 2, "PENDING_SOURCE")
    assert new.source_size == (2000 if change == "content" else 1000)

    (event,) = alice.activity(action="recording.source_changed")
    assert event["resource_id"] == old.id and event["result"] == "success"
    assert event["details"]["new_recording"] == new.id
    assert event["details"]["before"] == old.source_fingerprint
    assert event["details"]["after"] == new.source_fingerprint != old.source_fingerprint

    sync(alice, later + timedelta(seconds=10))  # no second replacement for the same change
    assert statuses(alice) == ["INITIALIZED", "PENDING_SOURCE"]
    sync(alice, later + timedelta(seconds=30))
    assert statuses(alice) == ["INITIALIZED", "INITIALIZED"]
    assert len(alice.activity(action="recording.source_changed")) == 1


def test_a_recording_from_before_fingerprints_adopts_one_and_is_compared_from_then_on(
    alice: UserAPI, tmp_path: Path
) -> None:
    start = utcnow()
    lecture = taken_lecture(alice, tmp_path, b"x" * 1000, start)
    with alice.leap.db.session() as session:  # as migration 0013 leaves a recording it finds
        session.execute(update(Recording).values(source_fingerprint=None, source_stable_since=None))
    assert not sync(alice, start + timedelta(minutes=1)).changed
    assert rows(alice)[0].source_fingerprint is not None
    rewritten(lecture, b"z" * 1000)
    assert len(sync(alice, start + timedelta(minutes=2)).changed) == 1


def test_a_file_cut_short_after_it_was_taken_fails_the_download_typed_and_leaves_nothing(
    alice: UserAPI, tmp_path: Path
) -> None:
    lecture = taken_lecture(alice, tmp_path, b"x" * WHOLE, utcnow())
    (recording,) = rows(alice)
    with lecture.open("r+b") as handle:  # truncated under LEAP's feet, before the download
        handle.truncate(HALF)

    pipeline = Pipeline(alice.leap.settings, alice.leap.db)
    with pytest.raises(DownloadMismatchError) as raised:
        pipeline.download(recording.id)

    assert raised.value.stage == "download"
    (failed,) = rows(alice)
    assert (failed.status.value, failed.failed_at_stage) == ("FAILED", "download")
    assert failed.error_message == str(raised.value)
    assert f"{HALF:,} of {WHOLE:,} bytes" in str(raised.value) and "\n" not in str(raised.value)
    folder = alice.leap.settings.resolved_storage_dir / alice.user.slug / recording.id
    assert not folder.exists() or list(folder.iterdir()) == []  # no partial source, no .part


def test_a_file_modified_after_it_was_taken_fails_the_download_and_comes_in_anew(
    alice: UserAPI, tmp_path: Path
) -> None:
    start = utcnow()
    lecture = taken_lecture(alice, tmp_path, b"x" * 1000, start)
    (recording,) = rows(alice)
    rewritten(lecture, b"y" * 1000)  # same size, new content and mtime

    with pytest.raises(DownloadMismatchError, match="modified after it was registered"):
        Pipeline(alice.leap.settings, alice.leap.db).download(recording.id)
    assert len(sync(alice, start + timedelta(minutes=1)).changed) == 1
    assert statuses(alice) == ["FAILED", "PENDING_SOURCE"]
