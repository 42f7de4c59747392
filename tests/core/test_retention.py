"""Retention in the core: archive keeps the outputs in the database and frees the files; restore brings them back.

Runs on SQLite and PostgreSQL. The partition side (the launcher removing and re-adding it) is covered on a
real Dagster instance in tests/dagster/test_retention.py. The last tests go through the real `leap` command.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from leap_core import launcher, partition_changes, retention, usage
from leap_core.api import UserAPI
from leap_core.cli import context
from leap_core.db.models import AuditLog, OutputTarget, Recording, RecordingArchive, RunRequest
from leap_core.db.types import utcnow
from leap_core.errors import NotFoundError, ValidationError
from leap_core.states import RecordingStatus, TargetStatus
from leap_core.storage import recording_files
from tests.support.builders import add_inbox, force_status, register_many
from tests.support.cli import leap as run_leap

SRT = "1\n00:00:00,000 --> 00:00:02,000\nЛекция о транзакциях\n"


def publish(api: UserAPI, recording_id: str) -> Path:
    """Give a recording the outputs a finished pipeline leaves, and count them as the stages would."""
    files = recording_files(api.leap.settings.resolved_storage_dir, api.user.slug, recording_id, "mp4")
    files.root.mkdir(parents=True, exist_ok=True)
    files.source.write_bytes(b"\0" * 5000)
    files.trimmed.write_bytes(b"\0" * 4000)
    files.transcript.write_text(json.dumps({"language": "ru", "segments": [{"start": 0, "end": 2,
                                                                            "text": "Лекция"}]}), encoding="utf-8")
    files.topics.write_text(json.dumps({"chapters": [{"start": 0, "title": "Введение"}]}), encoding="utf-8")
    files.srt.write_text(SRT, encoding="utf-8")
    files.vtt.write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nЛекция\n", encoding="utf-8")
    size = files.size_bytes()
    with api.leap.db.session() as session:
        usage.add_storage(session, api.user_id, size)
        session.execute(update(Recording).where(Recording.id == recording_id).values(storage_bytes=size))
    force_status(api, [recording_id], RecordingStatus.UPLOADED)
    return files.root


def _usage_bytes(api: UserAPI) -> int:
    from leap_core.db.models import QuotaUsage

    with api.leap.db.session() as session:
        return int(sum(session.scalars(select(QuotaUsage.storage_bytes).where(QuotaUsage.user_id == api.user_id))))


@pytest.fixture
def published(alice: UserAPI, tmp_path: Path) -> tuple[str, Path]:
    add_inbox(alice, tmp_path)
    (recording_id,) = register_many(alice, 1)
    return recording_id, publish(alice, recording_id)


def test_archive_keeps_transcript_subtitles_and_topics_in_the_database_and_frees_the_files(
    alice: UserAPI, published: tuple[str, Path]
) -> None:
    recording_id, folder = published
    before = _usage_bytes(alice)
    tasks_before = len(alice.tasks.list())

    report = alice.archive([recording_id])

    on_disk = 5000 + 4000  # plus the text outputs
    assert report["archived"] == [recording_id] and report["freed_bytes"] > on_disk
    assert not folder.exists()
    assert _usage_bytes(alice) == before - report["freed_bytes"]
    with alice.leap.db.session() as session:
        kept = session.get(RecordingArchive, recording_id)
        assert kept is not None
        assert kept.subtitles_srt == SRT and kept.transcript and kept.transcript["language"] == "ru"
        assert kept.topics == {"chapters": [{"start": 0, "title": "Введение"}]}
        kinds = list(session.scalars(select(RunRequest.first_stage).where(RunRequest.recording_id == recording_id)))
        actions = list(session.scalars(select(AuditLog.action).where(AuditLog.resource_id == recording_id)))
        (change,) = partition_changes.pending(session)
    assert change.partition_key == alice.recording(recording_id)["partition_key"] and not change.adds
    assert "archive" in kinds and "recording.archive" in actions
    row = alice.recording(recording_id)
    assert row["status"] == "UPLOADED" and row["archived_at"] is not None
    assert len(alice.tasks.list()) == tasks_before  # partition bookkeeping is not a task


def test_restore_writes_the_outputs_back_and_asks_for_the_partition(
    alice: UserAPI, published: tuple[str, Path]
) -> None:
    recording_id, folder = published
    alice.archive([recording_id])
    archived_usage = _usage_bytes(alice)

    report = alice.restore([recording_id])

    assert report["restored"] == [recording_id]
    assert (folder / "subtitles.srt").read_text(encoding="utf-8") == SRT
    assert json.loads((folder / "transcript.json").read_text(encoding="utf-8"))["segments"][0]["text"] == "Лекция"
    assert alice.recording(recording_id)["archived_at"] is None
    assert _usage_bytes(alice) == archived_usage + sum(p.stat().st_size for p in folder.iterdir())
    with alice.leap.db.session() as session:
        changes = partition_changes.pending(session)
    key = alice.recording(recording_id)["partition_key"]  # removed, then added back: in the order asked
    assert [(c.partition_key, c.adds) for c in changes] == [(key, False), (key, True)]


def test_only_published_live_recordings_are_archived_and_refusals_say_why(
    alice: UserAPI, published: tuple[str, Path]
) -> None:
    recording_id, _ = published
    (failed,) = register_many(alice, 1)
    force_status(alice, [failed], RecordingStatus.FAILED, "trim")
    alice.archive([recording_id])

    report = alice.archive([recording_id, failed])

    assert report["archived"] == []
    assert report["not_eligible"] == {
        recording_id: "already archived",
        failed: "only published (UPLOADED) recordings are archived; this one is FAILED",
    }
    assert alice.restore([failed])["not_eligible"] == {failed: "not archived"}


def test_another_users_recording_can_be_neither_archived_nor_restored(
    alice: UserAPI, bob: UserAPI, published: tuple[str, Path]
) -> None:
    recording_id, folder = published
    with pytest.raises(NotFoundError):
        bob.archive([recording_id])
    with pytest.raises(NotFoundError):
        bob.restore([recording_id])
    assert folder.exists() and alice.recording(recording_id)["archived_at"] is None


def test_due_finds_recordings_past_their_templates_retention_only(alice: UserAPI, tmp_path: Path) -> None:
    add_inbox(alice, tmp_path)
    alice.templates_api.update("inbox", retention={"days": 30})
    old, recent = register_many(alice, 2)
    alice.add_template("forever", targets=["local"])
    force_status(alice, [old, recent], RecordingStatus.UPLOADED)
    with alice.leap.db.session() as session:
        session.execute(update(Recording).where(Recording.id == old)
                        .values(updated_at=utcnow() - timedelta(days=31)))
        session.execute(update(Recording).where(Recording.id == recent)
                        .values(updated_at=utcnow() - timedelta(days=29)))
        due = [r.id for r in retention.due(session, utcnow(), limit=100)]
        assert [r.id for r in retention.due(session, utcnow(), limit=0)] == []
    assert due == [old]


@pytest.mark.parametrize("policy, reason", [
    ({"days": 0}, "retention days must be a whole number from 1 to 36500"),
    ({"days": "30"}, "retention days must be a whole number from 1 to 36500"),
    ({"days": True}, "retention days must be a whole number from 1 to 36500"),
    ({"days": 10**9}, "retention days must be a whole number from 1 to 36500"),
    ({"delete_source_after_download": "yes"}, "retention delete_source_after_download must be true or false"),
    ({"keep": 3}, "unknown retention setting(s): keep; known: days, delete_source_after_download"),
])
def test_a_bad_retention_policy_is_refused_at_save(
    alice: UserAPI, tmp_path: Path, policy: dict[str, object], reason: str
) -> None:
    add_inbox(alice, tmp_path)
    with pytest.raises(ValidationError) as refused:
        alice.templates_api.update("inbox", retention=policy)
    assert str(refused.value).replace(",", "") == reason.replace(",", "")
    assert alice.templates()[0]["retention"] == {}


def test_an_archived_recording_must_be_restored_before_a_reset_or_a_republish(
    alice: UserAPI, published: tuple[str, Path]
) -> None:
    from leap_core.errors import InvalidTransitionError

    recording_id, _ = published
    alice.archive([recording_id])
    with pytest.raises(InvalidTransitionError, match="archived; restore it before a reset"):
        alice.reset(recording_id)
    with pytest.raises(InvalidTransitionError, match="archived; restore it first"):
        alice.republish([recording_id])
    alice.restore([recording_id])
    with alice.leap.db.session() as session:  # as after the launcher's ticks: no request left open
        session.execute(update(RunRequest).where(RunRequest.recording_id == recording_id).values(status="finished"))
    assert alice.reset(recording_id)["status"] == "INITIALIZED"


def test_a_launcher_tick_reads_a_bounded_batch_of_partition_changes_oldest_first(
    alice: UserAPI, tmp_path: Path
) -> None:
    """An admin archiving tens of thousands at once must not become one tick that works for an hour: each
    tick reads the oldest `limit`, and once they are marked applied the next tick reads the rest."""
    add_inbox(alice, tmp_path)
    ids = register_many(alice, 3)
    with alice.leap.db.session() as session:
        session.add_all([RunRequest(recording_id=rid, user_id=alice.user_id, first_stage=launcher.ARCHIVE,
                                    reason="test", requested_by="test", status="pending") for rid in ids])
    with alice.leap.db.session() as session:
        first = partition_changes.pending(session, limit=2)
        partition_changes.mark_applied(session, [change.request_id for change in first])
        rest = partition_changes.pending(session, limit=2)
    keys = [alice.recording(rid)["partition_key"] for rid in ids]
    assert [c.partition_key for c in first] == keys[:2] and [c.partition_key for c in rest] == keys[2:]


# Through the `leap` command --------------------------------------------------------------------------

YOUTUBE_URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


@pytest.fixture
def as_alice(cli_env: Path, alice: UserAPI, monkeypatch: pytest.MonkeyPatch) -> UserAPI:
    """The CLI acting as Alice, on the database and home her API fixture uses."""
    monkeypatch.setenv("LEAP_ACTOR", alice.user.slug)
    context.leap.cache_clear()
    return alice


def leap_json(*args: str) -> dict[str, Any]:
    code, out, err = run_leap(*args, "--json")
    assert (code, err) == (0, ""), err
    value = json.loads(out)
    assert isinstance(value, dict)
    return value


def test_leap_recordings_archive_and_restore_free_and_rewrite_the_files_and_ask_for_the_partition(
    as_alice: UserAPI, published: tuple[str, Path]
) -> None:
    recording_id, folder = published
    key = as_alice.recording(recording_id)["partition_key"]

    archived = leap_json("recordings", "archive", recording_id)

    assert archived["archived"] == [recording_id] and archived["not_eligible"] == {}
    assert not folder.exists()
    assert leap_json("recordings", "show", recording_id)["archived_at"] is not None
    with as_alice.leap.db.session() as session:
        assert [(c.partition_key, c.adds) for c in partition_changes.pending(session)] == [(key, False)]

    restored = leap_json("recordings", "restore", recording_id)

    assert restored == {"restored": [recording_id], "not_eligible": {}}
    assert (folder / "subtitles.srt").read_text(encoding="utf-8") == SRT
    assert json.loads((folder / "topics.json").read_text(encoding="utf-8"))["chapters"][0]["title"] == "Введение"
    assert leap_json("recordings", "show", recording_id)["archived_at"] is None
    with as_alice.leap.db.session() as session:  # the removal, then the re-add, in request order
        assert [(c.partition_key, c.adds) for c in partition_changes.pending(session)] == [(key, False), (key, True)]
    assert leap_json("recordings", "restore", recording_id)["not_eligible"] == {recording_id: "not archived"}


def test_an_archived_recording_keeps_its_published_links_and_audit_and_restore_keeps_them_too(
    as_alice: UserAPI, published: tuple[str, Path]
) -> None:
    recording_id, _ = published
    with as_alice.leap.db.session() as session:  # published as the YouTube stage leaves it
        session.add(OutputTarget(recording_id=recording_id, platform="youtube", status=TargetStatus.UPLOADED,
                                 video_id="dQw4w9WgXcQ", url=YOUTUBE_URL))
    shown = leap_json("recordings", "show", recording_id)
    audit_before = audit_of(as_alice, recording_id)

    leap_json("recordings", "archive", recording_id)
    while_archived = leap_json("recordings", "show", recording_id)
    audit_archived = audit_of(as_alice, recording_id)
    code, table, _ = run_leap("recordings", "show", recording_id)
    leap_json("recordings", "restore", recording_id)
    after_restore = leap_json("recordings", "show", recording_id)
    audit_restored = audit_of(as_alice, recording_id)

    youtube = next(t for t in shown["targets"] if t["platform"] == "youtube")
    assert (youtube["status"], youtube["video_id"], youtube["url"]) == ("UPLOADED", "dQw4w9WgXcQ", YOUTUBE_URL)
    assert while_archived["targets"] == after_restore["targets"] == shown["targets"]
    assert code == 0 and YOUTUBE_URL in table  # what a person reads, not only the JSON
    assert "recording.create" in [a["action"] for a in audit_before]
    assert audit_archived[:len(audit_before)] == audit_before  # nothing earlier is dropped or rewritten
    assert [a["action"] for a in audit_archived[len(audit_before):]] == ["recording.archive"]
    assert audit_restored[:len(audit_archived)] == audit_archived
    assert [a["action"] for a in audit_restored[len(audit_archived):]] == ["recording.restore"]


def audit_of(api: UserAPI, recording_id: str) -> list[dict[str, object]]:
    """The recording's audit rows, oldest first, with what each one said."""
    with api.leap.db.session() as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.resource_id == recording_id).order_by(AuditLog.id))
        return [{"id": r.id, "action": r.action, "result": r.result, "details": r.details} for r in rows]
