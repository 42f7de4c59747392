"""A recording's state follows its targets through every retry: fake YouTube and VK on 127.0.0.1, the real
clients, LEAP's own target runner on PostgreSQL, and a publishing process killed with SIGKILL mid-upload.

Each scenario ends in a terminal state with one video per platform (no duplicate upload) and the
recording's reason saying what its targets say, never a stale one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from leap_core.api import Leap, UserAPI, create_user
from leap_core.audit import Actor
from leap_core.cli import context
from leap_core.config import Settings
from leap_core.db.models import Notification, OutputTarget, ProcessingStage, Recording, RunRequest
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.operations import request_due_parked
from leap_core.pipeline.facade import Pipeline
from leap_core.publishing.base import PublishError
from leap_core.states import RecordingStatus
from tests.conftest import TEST_ACTOR
from tests.fakes.vk import FakeVK
from tests.fakes.youtube import FakeYouTube
from tests.support.builders import add_inbox, force_status, register_many
from tests.support.cli import leap as run_leap
from tests.support.publishing import SECRET_KEY, target_platforms, target_row

CHUNK = 256 * 1024
VIDEO_SIZE = 3 * CHUNK + 4321
PRESETS: dict[str, Any] = {"youtube": {"credential": "channel"}, "vk": {"credential": "community", "group_id": 777}}
LAUNCHER = Actor("launcher", origin="sensor")


@pytest.fixture
def lecturer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_url: str, youtube: FakeYouTube, vk: FakeVK
) -> Iterator[UserAPI]:
    """alice on PostgreSQL with a YouTube channel and a VK community connected, configured through the
    environment so the CLI and a child process see the same LEAP."""
    env = {"LEAP_HOME": str(tmp_path / "home"), "LEAP_DATABASE_URL": pg_url, "LEAP_SECRET_KEY": SECRET_KEY,
           "LEAP_YOUTUBE_ROOT_URL": youtube.url, "LEAP_GOOGLE_TOKEN_URI": youtube.token_uri,
           "LEAP_VK_API_URL": vk.url, "LEAP_PUBLISH_BACKOFF_S": "0", "LEAP_PUBLISH_MAX_RETRIES": "1",
           "LEAP_YOUTUBE_CHUNK_SIZE": str(CHUNK), "LEAP_ACTOR": "alice", "LEAP_LOCAL_SOURCE_ROOTS": str(tmp_path)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    context.leap.cache_clear()
    leap = Leap(Settings(), Database(pg_url))
    user = create_user(leap.db, TEST_ACTOR, "alice", "alice@example.org", "user")
    alice = leap.as_user(user["id"], TEST_ACTOR)
    alice.credentials.add("youtube", "channel", youtube.credentials())
    alice.credentials.add("vk", "community", {"token": vk.token})
    add_inbox(alice, tmp_path, process_on_arrival=False)
    target_platforms(alice, "inbox", ["youtube", "vk"], PRESETS)
    yield alice
    context.leap.cache_clear()
    leap.db.dispose()


@pytest.fixture
def transcribed(lecturer: UserAPI) -> str:
    """One recording ready to publish: TRANSCRIBED, with its trimmed video on disk."""
    (recording_id,) = register_many(lecturer, 1)
    force_status(lecturer, [recording_id], RecordingStatus.TRANSCRIBED)
    folder = lecturer.leap.settings.resolved_storage_dir / "alice" / recording_id
    folder.mkdir(parents=True)
    (folder / "trimmed.mp4").write_bytes(os.urandom(VIDEO_SIZE))
    return recording_id


def publish_run(user: UserAPI, recording_id: str, *platforms: str) -> None:
    """What one run's target assets do, in the order given (a failing target does not stop the next), and
    its run request finished as the launcher records it."""
    pipeline = Pipeline(user.leap.settings, user.leap.db)
    for platform in platforms:
        with contextlib.suppress(PublishError):
            pipeline.publish(recording_id, platform)
    with user.leap.db.session() as session:
        session.execute(update(RunRequest).where(RunRequest.recording_id == recording_id)
                        .values(status="finished", finished_at=utcnow()))


def state(user: UserAPI, recording_id: str) -> tuple[str, str | None, dict[str, str]]:
    view = user.recording(recording_id)
    return view["status"], view["error"], {t["platform"]: t["status"] for t in view["targets"]}


def events(user: UserAPI) -> list[str]:
    with user.leap.db.session() as session:
        return sorted(session.scalars(select(Notification.event_type).where(
            Notification.event_type.like("upload.%"))))


def make_due(user: UserAPI) -> None:
    with user.leap.db.session() as session:
        session.execute(update(OutputTarget).where(OutputTarget.retry_after.is_not(None))
                        .values(retry_after=utcnow() - timedelta(minutes=1)))


def inserts(youtube: FakeYouTube) -> int:
    return len(youtube.requests_to("POST", "/upload/youtube/v3/videos"))


def test_retry_of_failed_uploads_on_a_two_target_template_ends_uploaded_without_the_stale_reason(
    lecturer: UserAPI, transcribed: str, youtube: FakeYouTube, vk: FakeVK
) -> None:
    token = vk.token
    vk.revoke()
    publish_run(lecturer, transcribed, "youtube", "vk")
    status, error, targets = state(lecturer, transcribed)
    assert (status, targets) == ("FAILED", {"youtube": "UPLOADED", "vk": "FAILED"})
    assert error is not None and "reconnect the account" in error

    vk.token = token  # the user reconnected the account
    assert lecturer.retry_failed_uploads()["done"] == [transcribed]
    publish_run(lecturer, transcribed, "youtube", "vk")  # the run re-selects every target asset

    assert state(lecturer, transcribed) == ("UPLOADED", None, {"youtube": "UPLOADED", "vk": "UPLOADED"})
    assert (len(youtube.videos), inserts(youtube), len(vk.uploads)) == (1, 1, 1)


def test_a_parked_target_tells_waiting_once_is_retried_by_itself_and_ends_uploaded(
    lecturer: UserAPI, transcribed: str, youtube: FakeYouTube, vk: FakeVK
) -> None:
    youtube.fail("insert", 403, "quotaExceeded", times=2)
    publish_run(lecturer, transcribed, "youtube", "vk")
    status, error, targets = state(lecturer, transcribed)
    assert (status, targets) == ("FAILED", {"youtube": "FAILED", "vk": "UPLOADED"})
    assert error is not None and error.startswith("waiting for youtube quota until ")
    assert "retries by itself" in error

    for _ in range(2):  # parked again by the first automatic attempt, then published by the second
        make_due(lecturer)
        with lecturer.leap.db.session() as session:
            assert request_due_parked(session, LAUNCHER, max_attempts=3) == [transcribed]
        assert lecturer.recording(transcribed)["status"] == "UPLOADING"
        publish_run(lecturer, transcribed, "youtube", "vk")

    assert state(lecturer, transcribed) == ("UPLOADED", None, {"youtube": "UPLOADED", "vk": "UPLOADED"})
    assert events(lecturer) == ["upload.waiting"]  # no "upload failed" for a wait LEAP handled itself
    assert (len(youtube.videos), len(vk.uploads)) == (1, 1)
    assert target_row(lecturer, transcribed, "youtube").parked_attempts == 0


def test_automatic_attempts_count_neither_the_first_try_nor_a_retry_by_hand_and_giving_up_says_failed(
    lecturer: UserAPI, transcribed: str, youtube: FakeYouTube
) -> None:
    target_platforms(lecturer, "inbox", ["youtube"], PRESETS)
    with lecturer.leap.db.session() as session:
        session.execute(update(OutputTarget).where(OutputTarget.platform == "vk").values(status="UPLOADED"))
    youtube.fail("insert", 403, "quotaExceeded", times=10)
    publish_run(lecturer, transcribed, "youtube")  # the first try
    lecturer.retry([transcribed])  # a retry by hand: a new series of automatic attempts
    publish_run(lecturer, transcribed, "youtube")
    for _ in range(2):
        make_due(lecturer)
        with lecturer.leap.db.session() as session:
            assert request_due_parked(session, LAUNCHER, max_attempts=2) == [transcribed]
        publish_run(lecturer, transcribed, "youtube")
    make_due(lecturer)
    with lecturer.leap.db.session() as session:
        assert request_due_parked(session, LAUNCHER, max_attempts=2) == []  # gives up

    assert inserts(youtube) == 4  # first try + retry by hand + exactly the two automatic attempts
    status, error, _ = state(lecturer, transcribed)
    assert status == "FAILED" and error is not None and not error.startswith("waiting")
    assert events(lecturer) == ["upload.failed", "upload.waiting", "upload.waiting"]  # one wait per series
    with lecturer.leap.db.session() as session:
        gave_up = session.scalar(select(Notification).where(Notification.event_type == "upload.failed"))
        assert gave_up is not None and "gave up after 2 automatic attempts" in gave_up.body
        assert request_due_parked(session, LAUNCHER, max_attempts=2) == []
    assert youtube.videos == {}


PUBLISH_IN_CHILD = """
import sys
from leap_core.config import Settings
from leap_core.db.session import Database
from leap_core.pipeline.facade import Pipeline

settings = Settings()
Pipeline(settings, Database(settings.resolved_database_url)).publish(sys.argv[1], "youtube")
"""


def test_a_target_left_uploading_by_a_killed_worker_is_retried_and_resumes_at_the_saved_byte(
    lecturer: UserAPI, transcribed: str, youtube: FakeYouTube
) -> None:
    target_platforms(lecturer, "inbox", ["youtube"], PRESETS)
    with lecturer.leap.db.session() as session:
        session.execute(update(OutputTarget).where(OutputTarget.platform == "vk").values(status="UPLOADED"))
    youtube.hold_chunks(after=1)
    child = subprocess.Popen([sys.executable, "-c", PUBLISH_IN_CHILD, transcribed])
    deadline = time.monotonic() + 120
    while youtube.held == 0 or target_row(lecturer, transcribed, "youtube").resume_state.get("offset") != CHUNK:
        assert child.poll() is None and time.monotonic() < deadline, "the upload never reached its second chunk"
        time.sleep(0.1)
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    youtube.release()
    assert target_row(lecturer, transcribed, "youtube").status == "UPLOADING"
    # What the run-failure sensor does for a run whose worker died:
    assert Pipeline(lecturer.leap.settings, lecturer.leap.db).mark_run_died(transcribed, "run-1", "worker killed")

    report = lecturer.retry_failed_uploads()
    assert report["done"] == [transcribed], report
    publish_run(lecturer, transcribed, "youtube")

    assert state(lecturer, transcribed) == ("UPLOADED", None, {"youtube": "UPLOADED", "vk": "UPLOADED"})
    assert (len(youtube.sessions), len(youtube.videos), inserts(youtube)) == (1, 1, 1)
    assert youtube.bytes_received == VIDEO_SIZE  # nothing sent twice
    with lecturer.leap.db.session() as session:
        running = session.scalar(select(func.count()).select_from(ProcessingStage)
                                 .where(ProcessingStage.status == "running"))
        assert running == 0


def test_delete_unpublish_keeps_the_recording_while_a_take_down_fails_and_retrying_it_finishes(
    lecturer: UserAPI, transcribed: str, youtube: FakeYouTube, vk: FakeVK
) -> None:
    publish_run(lecturer, transcribed, "youtube", "vk")
    assert lecturer.recording(transcribed)["status"] == "UPLOADED"
    vk.fail("video.delete", 7, times=1)

    code, out, _ = run_leap("recordings", "delete", transcribed, "--unpublish")

    assert code == 1 and "kept" in out and "--force" in out
    view = lecturer.recording(transcribed)  # still there, with the failed take-down on its target
    vk_target = next(t for t in view["targets"] if t["platform"] == "vk")
    assert "error 7" in vk_target["takedown_error"]
    assert youtube.videos == {} and len(vk.videos) == 1

    code, out, _ = run_leap("recordings", "delete", transcribed, "--unpublish")

    assert code == 0, out
    assert vk.videos == {}
    assert len(vk.calls_to("video.delete")) == 2 and len(youtube.requests_to("DELETE", "/youtube/v3/videos")) == 1
    with lecturer.leap.db.session() as session:
        assert session.get_one(Recording, transcribed).deleted_at is not None
    assert not (lecturer.leap.settings.resolved_storage_dir / "alice" / transcribed).exists()


def test_delete_unpublish_force_deletes_and_names_the_video_left_up(
    lecturer: UserAPI, transcribed: str, vk: FakeVK
) -> None:
    publish_run(lecturer, transcribed, "youtube", "vk")
    vk.fail("video.delete", 7, times=5)

    code, out, _ = run_leap("recordings", "delete", transcribed, "--unpublish", "--force")

    assert code == 0, out
    (entry,) = [e for e in lecturer.activity(action="recording.delete") if e["result"] == "success"]
    assert entry["details"]["forced"] is True
    assert [v["platform"] for v in entry["details"]["left_on_platforms"]] == ["vk"]
    assert len(vk.videos) == 1
