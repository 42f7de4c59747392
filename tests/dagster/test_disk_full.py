"""A real Dagster run that fills a real (tmpfs) storage disk mid-trim ends FAILED at trim, clean, and a retry
after space is freed publishes once.

The core tests (tests/core/test_disk.py) cover each writing stage; this one shows the whole chain as the
daemon would run it: the step fails with the "disk full" line, the media slot is released, nothing partial
stays on the full disk, the failure is audited, and the retried run uploads to the fake YouTube exactly once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance

from leap_core import disk, pools
from leap_core.api import UserAPI
from tests.core.test_disk import PAGE, MiB, SmallDisk, files_under, small_disk  # noqa: F401 (a fixture)
from tests.dagster.test_publishing import PRESETS
from tests.fakes.youtube import FakeYouTube
from tests.fixtures.media import LectureSpec, make_lecture
from tests.support.dagster import settle
from tests.support.publishing import target_platforms

STORAGE_MIB = 40
"""Room for the 32 MiB transcription allowance once the ballast is gone; tmpfs pages are only used when written."""


@pytest.fixture
def storage(small_disk: SmallDisk, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    """A small real filesystem as LEAP's storage, set before LEAP (the test's and the assets') reads its settings."""
    place = small_disk(STORAGE_MIB * MiB)
    monkeypatch.setenv("LEAP_STORAGE_DIR", str(place))
    monkeypatch.setenv("LEAP_DISK_MARGIN_MB", "0")
    return place


def claimed_slots(instance: DagsterInstance) -> dict[str, int]:
    storage = instance.event_log_storage
    return {pool: len(storage.get_concurrency_info(pool).claimed_slots) for pool in pools.POOLS}


@pytest.mark.slow
def test_a_run_that_fills_the_disk_mid_trim_fails_there_cleanly_and_a_retry_publishes_once(
    storage: Path, request: pytest.FixtureRequest, youtube: FakeYouTube, instance: DagsterInstance
) -> None:
    demo: UserAPI = request.getfixturevalue("lecturer")
    for pool in pools.POOLS:
        instance.event_log_storage.set_concurrency_slots(pool, 1)
    target_platforms(demo, "inbox", ["local", "youtube"], {"youtube": PRESETS["youtube"]})
    demo.templates_api.update("inbox", trim={"blank_min_speech_s": 3.0, "min_duration_s": 2.0, "method": "reencode"})
    lecture = make_lecture(LectureSpec(encoding="compact")).path
    size = lecture.stat().st_size
    # Room for the download and then for the trim's estimate (the source's size), but not for the re-encode,
    # which comes out larger than the compact source: the disk fills inside ffmpeg, in the middle of the cut.
    ballast = storage / "ballast.bin"
    ballast.write_bytes(b"\0" * (disk.free_bytes(storage) - (-(-size // PAGE) * PAGE + size + 64 * 1024)))
    shutil.copy(lecture, Path(demo.sources()[0]["path"]) / "lecture.mp4")

    runs = settle(instance, rounds=2)  # a file counts as complete on its second scan

    assert [r.success for r in runs] == [False]
    (recording,) = demo.recordings()
    message = recording["error"]
    assert (recording["status"], recording["failed_at_stage"]) == ("FAILED", "trim")
    assert message.startswith("disk full at trim: need ") and ", have " in message
    assert message.endswith("(storage, ran out while writing)")
    (step_failure,) = runs[0].get_step_failure_events()
    assert step_failure.step_key == "trimmed_video"
    assert step_failure.step_failure_data.user_failure_data.description == message  # type: ignore[union-attr]
    assert files_under(storage) == ["ballast.bin", f"demo/{recording['id']}/source.mp4"]  # no work folder
    assert claimed_slots(instance) == dict.fromkeys(pools.POOLS, 0)
    (failed,) = demo.activity(action="recording.fail")
    assert failed["details"] == {"stage": "trim", "error": message}
    assert youtube.videos == {}

    ballast.unlink()
    demo.retry([recording["id"]])
    retried = settle(instance, rounds=1)

    assert [r.success for r in retried] == [True]
    assert demo.recording(recording["id"])["status"] == "UPLOADED"
    assert len(youtube.videos) == 1
    assert sorted(a["details"].get("platform") for a in demo.activity(action="target.upload")) == ["local",
                                                                                                  "youtube"]
    assert claimed_slots(instance) == dict.fromkeys(pools.POOLS, 0)
