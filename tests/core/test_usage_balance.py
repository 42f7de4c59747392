"""Accounting that balances: after every operation a user's storage counter equals what LEAP keeps on disk
for them (plus the reservations of recordings not yet downloaded), transcription is charged once per
recording on its trimmed duration, and `leap admin usage verify` finds any difference (and fixes it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from leap_core import usage
from leap_core.api import AdminAPI, Leap, UserAPI
from leap_core.audit import AuditQuery
from leap_core.db.models import ProcessingStage, QuotaUsage, Recording, RunRequest
from leap_core.errors import QuotaExceededError
from leap_core.quotas import GIB
from tests.fixtures.media import make_lecture
from tests.support.admins import make_admin
from tests.support.builders import add_inbox, register_many
from tests.support.cli import leap as leap_cli


def on_disk(api: UserAPI) -> int:
    """Every byte LEAP keeps for the user: their storage folder and their export folder."""
    settings = api.leap.settings
    roots = [settings.resolved_storage_dir / api.user.slug, settings.resolved_export_dir / api.user.slug]
    return sum(p.stat().st_size for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


def assert_balanced(api: UserAPI, admin: AdminAPI, reserved: int = 0) -> dict[str, Any]:
    counted = api.usage()["storage_bytes"]
    assert counted == on_disk(api) + reserved
    report = admin.verify_usage(api.user.slug)
    assert report["ok"], report["users"][0]["differences"]
    return dict(report["users"][0])


@pytest.fixture
def admin(leap: Leap) -> AdminAPI:
    return make_admin(leap)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_storage_counter_equals_the_disk_after_every_stage_export_archive_restore_and_delete(
    alice: UserAPI, admin: AdminAPI, tmp_path: Path
) -> None:
    inbox = add_inbox(alice, tmp_path, process_on_arrival=False)
    lecture = make_lecture()
    shutil.copy(lecture.path, inbox / "lecture.mp4")
    alice.sources_api.sync()
    alice.sources_api.sync()  # the second scan sees a stable size: INITIALIZED, its size reserved
    (recording,) = alice.recordings()
    rid, pipeline = recording["id"], alice.leap.pipeline
    size = lecture.path.stat().st_size
    assert assert_balanced(alice, admin, reserved=size)["reserved_bytes"] == size

    for stage in (pipeline.download, pipeline.trim, pipeline.transcribe, pipeline.topics, pipeline.subtitles):
        stage(rid)
        assert_balanced(alice, admin)
    with alice.leap.db.session() as session:
        trimmed = session.scalars(select(ProcessingStage.details).where(
            ProcessingStage.recording_id == rid, ProcessingStage.stage == "trim")).one()["output_duration"]
    assert trimmed < lecture.duration - 4  # the silent head and tail are not transcription time
    assert alice.usage()["transcription_seconds"] == pytest.approx(trimmed, abs=0.01)

    pipeline.export_local(rid)
    export = alice.leap.settings.resolved_export_dir / alice.user.slug / rid
    assert (export / "video.mp4").exists()
    assert_balanced(alice, admin)

    alice.archive([rid])  # the storage folder goes; the export copy stays, still counted
    assert not (alice.leap.settings.resolved_storage_dir / alice.user.slug / rid).exists()
    assert alice.usage()["storage_bytes"] > 0
    assert_balanced(alice, admin)
    alice.restore([rid])
    assert_balanced(alice, admin)
    partition_changes_done(alice)

    report = alice.delete(rid)
    assert report["done"] == [rid]
    assert not export.exists()
    assert alice.usage()["storage_bytes"] == on_disk(alice) == 0
    assert_balanced(alice, admin)
    assert alice.usage()["transcription_seconds"] == pytest.approx(trimmed, abs=0.01)  # the work was done


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_transcription_is_charged_once_whatever_re_runs_and_reprocesses_follow(
    alice: UserAPI, admin: AdminAPI, tmp_path: Path
) -> None:
    inbox = add_inbox(alice, tmp_path, process_on_arrival=False)
    shutil.copy(make_lecture().path, inbox / "lecture.mp4")
    alice.sources_api.sync()
    alice.sources_api.sync()
    (recording,) = alice.recordings()
    rid, pipeline = recording["id"], alice.leap.pipeline
    for stage in (pipeline.download, pipeline.trim, pipeline.transcribe, pipeline.topics, pipeline.subtitles,
                  pipeline.export_local):
        stage(rid)
    charged = alice.usage()["transcription_seconds"]
    assert charged > 0

    for _ in range(6):  # seven transcriptions of one lecture in all, as the issue measured
        pipeline.transcribe(rid)  # a reprocess of an UPLOADED recording, reusing the cached chunks
    pipeline.trim(rid)  # a re-trim changes no charge either

    assert alice.usage()["transcription_seconds"] == pytest.approx(charged)
    assert alice.stats().totals.iloc[0]["transcription_seconds"] == pytest.approx(charged)
    assert alice.recording(rid)["status"] == "UPLOADED"
    assert_balanced(alice, admin)


def test_deleting_a_recording_never_downloaded_gives_its_reserved_bytes_back(
    alice: UserAPI, admin: AdminAPI, tmp_path: Path
) -> None:
    admin.create_plan("small", max_storage_gb=1500 / GIB)
    admin.subscribe("alice", "small")
    add_inbox(alice, tmp_path, process_on_arrival=False)
    (first,) = register_many(alice, 1)  # 1,000 bytes reserved of 1,500
    with pytest.raises(QuotaExceededError):
        register_many(alice, 1)
    assert_balanced(alice, admin, reserved=1000)

    report = alice.delete(first)

    assert report["done"] == [first]
    assert alice.usage()["storage_bytes"] == 0
    assert len(register_many(alice, 1)) == 1  # the next upload fits again
    assert_balanced(alice, admin, reserved=1000)


def test_skipping_a_recording_before_its_download_releases_its_reservation(
    alice: UserAPI, admin: AdminAPI, tmp_path: Path
) -> None:
    add_inbox(alice, tmp_path, process_on_arrival=False)
    _kept, skipped = register_many(alice, 2)

    alice.skip([skipped])

    assert alice.usage()["storage_bytes"] == 1000
    assert_balanced(alice, admin, reserved=1000)
    alice.delete(skipped)
    assert alice.usage()["storage_bytes"] == 1000


def partition_changes_done(api: UserAPI) -> None:
    """What the launcher does with archive/restore requests once the partition is removed or re-added."""
    with api.leap.db.session() as session:
        session.execute(update(RunRequest).where(RunRequest.user_id == api.user_id).values(status="finished"))


def drift(api: UserAPI) -> str:
    """A downloaded recording whose counter, file size and transcription charge have all drifted apart."""
    (rid,) = register_many(api, 1)
    folder = api.leap.settings.resolved_storage_dir / api.user.slug / rid
    folder.mkdir(parents=True)
    (folder / "source.mp4").write_bytes(b"\0" * 4000)
    with api.leap.db.session() as session:
        session.add(ProcessingStage(recording_id=rid, stage="download", status="completed"))
        recording = session.get_one(Recording, rid)
        recording.storage_bytes, recording.transcription_s = 4000, 60.0
        recording.transcription_period = usage.period_of()
        usage.add_storage(session, api.user_id, 3000)
        usage.add_transcription_seconds(session, api.user_id, 60.0 * 7)  # charged on every run, as before
    (folder / "source.mp4").write_bytes(b"\0" * 5000)  # a file rewritten outside a stage
    return rid


def test_verify_reports_every_difference_and_fix_makes_the_counters_match_the_disk(
    alice: UserAPI, admin: AdminAPI, bob: UserAPI, tmp_path: Path
) -> None:
    add_inbox(alice, tmp_path, process_on_arrival=False)
    add_inbox(bob, tmp_path, process_on_arrival=False)
    rid = drift(alice)
    (gone,) = register_many(alice, 1)
    alice.delete(gone)
    leftover = alice.leap.settings.resolved_storage_dir / alice.user.slug / gone
    leftover.mkdir(parents=True)
    (leftover / "trimmed.mp4").write_bytes(b"\0" * 700)  # files a crash left behind after the delete
    register_many(bob, 1)

    report = admin.verify_usage()

    assert report["ok"] is False
    by_user = {u["user"]: u for u in report["users"]}
    assert by_user["bob"]["ok"] and by_user["root"]["ok"]
    found = by_user["alice"]
    assert found["recordings"] == {rid: {"counted": 4000, "on_disk": 5000}}
    assert (found["counter_bytes"], found["expected_bytes"], found["disk_bytes"]) == (4000, 5000, 5700)
    assert found["orphaned"] == {str(leftover): 700}
    assert found["transcription"] == {usage.period_of(): {"counter": 420.0, "charged": 60.0}}
    assert len(found["differences"]) == 4

    fixed = admin.verify_usage("alice", fix=True)

    assert fixed["ok"] is True and fixed["fixed"][0]["user"] == "alice"
    assert not leftover.exists()
    assert (alice.usage()["storage_bytes"], alice.usage()["transcription_seconds"]) == (5000, 60.0)
    (entry,) = admin.audit(AuditQuery(action="usage.fix"))
    assert entry["details"]["before"]["storage_bytes"] == 4000 and entry["details"]["after"]["storage_bytes"] == 5000
    assert_balanced(alice, admin)


def test_verify_on_the_command_line_exits_1_on_a_difference_and_0_once_fixed(cli_env: Path) -> None:
    assert leap_cli("init")[0] == 0
    code, out, _ = leap_cli("admin", "usage", "verify")
    assert code == 0 and "demo" in out
    with_drift(cli_env)

    code, out, _ = leap_cli("admin", "usage", "verify", "--user", "demo")
    assert code == 1 and "storage counter 1234 bytes, recordings add up to 0" in out
    code, out, _ = leap_cli("admin", "usage", "verify", "--fix", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    assert leap_cli("admin", "usage", "verify")[0] == 0


def with_drift(home: Path) -> None:
    """The embedded default's demo user with 1,234 bytes counted that nothing holds."""
    from leap_core.cli import context

    core = context.leap()
    with core.db.session() as session:
        user_id = core.as_user("demo").user_id
        usage.add_storage(session, user_id, 1234)
        session.execute(update(QuotaUsage).where(QuotaUsage.user_id == user_id).values(transcription_seconds=0.0))


def test_a_growing_pending_file_keeps_its_reservation_equal_to_its_size_until_it_is_gone(
    alice: UserAPI, admin: AdminAPI, tmp_path: Path
) -> None:
    inbox = add_inbox(alice, tmp_path, process_on_arrival=False)
    (inbox / "still copying.mp4").write_bytes(b"\0" * 1000)
    alice.sources_api.sync()
    (recording,) = alice.recordings()
    assert (recording["status"], alice.usage()["storage_bytes"]) == ("PENDING_SOURCE", 1000)

    (inbox / "still copying.mp4").write_bytes(b"\0" * 2500)
    alice.sources_api.sync()
    assert alice.usage()["storage_bytes"] == 2500
    assert_balanced(alice, admin, reserved=2500)

    (inbox / "still copying.mp4").unlink()
    alice.sources_api.sync()
    assert alice.recording(recording["id"])["status"] == "SKIPPED"
    assert alice.usage()["storage_bytes"] == 0
    assert_balanced(alice, admin)
