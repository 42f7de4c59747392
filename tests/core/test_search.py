"""Search inside lectures, on SQLite (FTS5) and PostgreSQL (tsvector): ranked, stemmed, tenant-scoped.

The index is written the way the pipeline writes it (the facade's step after the subtitles stage, from
the transcript and topics files); the searches go through the user API and the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from leap_core.api import UserAPI
from leap_core.db.models import AuditLog, OutputTarget, TranscriptCue
from leap_core.errors import ValidationError
from leap_core.search.query import fts5_match
from leap_core.states import RecordingStatus, TargetStatus
from leap_core.storage import recording_files
from tests.support.builders import add_inbox, force_status, register_many
from tests.support.cli import cli_env, leap  # noqa: F401  (fixture)
from tests.support.queries import counted_queries

DATABASES = """Today we talk about transactions and how databases keep them isolated.
Two-phase locking is the classic answer: a growing phase, then a shrinking phase.
With two-phase locking a transaction never takes a lock after it released one.
Deadlocks can happen, so the lock manager needs deadlock detection.
Snapshot isolation is the other family, and it needs no read locks at all."""

RUSSIAN = """Сегодня у нас вторая лекция по базам данных.
В этой лекции мы разберём двухфазное блокирование транзакций.
Спасибо всем, до следующей встречи."""

COOKING = """Welcome to the kitchen, today we bake bread.
The dough must rest for an hour before it goes into the oven."""


def lecture(api: UserAPI, text: str, language: str = "en", chapters: list[tuple[float, str]] | None = None) -> str:
    """A recording whose transcript and topics are on disk as the stages leave them, indexed as the
    pipeline indexes after subtitles. One line of `text` per segment, 10 s apart."""
    (recording_id,) = register_many(api, 1)
    files = recording_files(api.leap.settings.resolved_storage_dir, api.user.slug, recording_id, "mp4")
    files.root.mkdir(parents=True, exist_ok=True)
    lines = text.splitlines()
    segments = [{"start": 10.0 * i, "end": 10.0 * i + 5, "text": line} for i, line in enumerate(lines)]
    files.transcript.write_text(json.dumps({"language": language, "duration": 10.0 * len(lines), "backend": "test",
                                            "model": "test", "segments": segments}), encoding="utf-8")
    files.topics.write_text(json.dumps({"summary": "", "chapters": [
        {"start": s, "title": t} for s, t in (chapters or [(0.0, "Introduction")])]}), encoding="utf-8")
    api.leap.pipeline.index_for_search(recording_id)
    return recording_id


@pytest.fixture
def inbox(alice: UserAPI, bob: UserAPI, tmp_path: Path) -> None:
    add_inbox(alice, tmp_path, process_on_arrival=False)
    add_inbox(bob, tmp_path, process_on_arrival=False)


def moments(found: list[dict[str, object]]) -> list[tuple[str, str]]:
    return [(str(r["recording_id"]), str(m["text"])) for r in found for m in r["moments"]]  # type: ignore[attr-defined]


def test_the_matching_moments_come_with_time_chapter_and_rank(alice: UserAPI, inbox: None) -> None:
    databases = lecture(alice, DATABASES, chapters=[(0.0, "Transactions"), (20.0, "Deadlocks and snapshots")])
    lecture(alice, COOKING)

    found = alice.search("two-phase locking")

    assert [r["recording_id"] for r in found] == [databases]
    texts = [m["text"] for m in found[0]["moments"]]
    assert len(texts) == 2 and all("locking" in t for t in texts)
    first = found[0]["moments"][0]
    assert first["start_s"] in (10.0, 20.0) and first["time"] in ("0:10", "0:20")
    assert first["chapter"] == ("Transactions" if first["start_s"] == 10.0 else "Deadlocks and snapshots")
    scores = [m["score"] for m in found[0]["moments"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_a_cue_saying_the_term_twice_ranks_above_one_saying_it_once(alice: UserAPI, inbox: None) -> None:
    lecture(alice, "A lock is taken here.\nThe lock manager grants a lock, then another lock.\nWe bake bread.")

    texts = [t for _, t in moments(alice.search("lock"))]

    assert texts == ["The lock manager grants a lock, then another lock.", "A lock is taken here."]


def test_english_words_match_their_inflections(alice: UserAPI, inbox: None) -> None:
    lecture(alice, DATABASES)

    assert any("Deadlocks can happen" in t for _, t in moments(alice.search("deadlock")))
    assert any("isolated" in t for _, t in moments(alice.search("isolation")))


def test_russian_words_match_their_inflections(alice: UserAPI, inbox: None) -> None:
    """`лекции` finds `лекция`: PostgreSQL's russian dictionary, Snowball stems in SQLite's FTS5 index."""
    russian = lecture(alice, RUSSIAN, language="ru", chapters=[(0.0, "Введение")])

    found = alice.search("лекции")

    assert [r for r, _ in moments(found)] == [russian, russian]
    assert {t for _, t in moments(found)} == {RUSSIAN.splitlines()[0], RUSSIAN.splitlines()[1]}
    assert found[0]["moments"][0]["chapter"] == "Введение"
    assert moments(alice.search("блокированию транзакции"))[0][1] == RUSSIAN.splitlines()[1]


def test_a_quoted_phrase_must_occur_in_order(alice: UserAPI, inbox: None) -> None:
    lecture(alice, "The lock manager works.\nA manager takes the lock.")

    assert [t for _, t in moments(alice.search('"lock manager"'))] == ["The lock manager works."]


def test_bob_never_sees_alices_cues(alice: UserAPI, bob: UserAPI, inbox: None) -> None:
    lecture(alice, DATABASES)
    bobs = lecture(bob, COOKING)

    assert bob.search("two-phase locking") == []
    assert bob.search("locking OR bread") == [] or [r for r, _ in moments(bob.search("bread"))] == [bobs]
    assert [r for r, _ in moments(bob.search("bread"))] == [bobs]
    assert alice.search("bread") == []


def test_deleting_a_recording_removes_its_cues(alice: UserAPI, inbox: None) -> None:
    recording_id = lecture(alice, DATABASES)
    force_status(alice, [recording_id], RecordingStatus.UPLOADED)

    alice.delete(recording_id)

    assert alice.search("locking") == []
    with alice.leap.db.session() as session:
        left = session.scalar(select(func.count()).select_from(TranscriptCue)
                              .where(TranscriptCue.recording_id == recording_id))
    assert left == 0


def test_reindexing_replaces_the_recordings_cues(alice: UserAPI, inbox: None) -> None:
    recording_id = lecture(alice, DATABASES)
    files = recording_files(alice.leap.settings.resolved_storage_dir, alice.user.slug, recording_id, "mp4")
    transcript = json.loads(files.transcript.read_text())
    transcript["segments"] = [{"start": 0.0, "end": 4.0, "text": "Only optimistic concurrency control now."}]
    files.transcript.write_text(json.dumps(transcript))

    assert alice.leap.pipeline.index_for_search(recording_id) == 1

    assert alice.search("locking") == []
    assert [t for _, t in moments(alice.search("optimistic"))] == ["Only optimistic concurrency control now."]


def test_archived_recordings_stay_searchable(alice: UserAPI, inbox: None) -> None:
    recording_id = lecture(alice, DATABASES)
    force_status(alice, [recording_id], RecordingStatus.UPLOADED)

    assert alice.archive([recording_id])["archived"] == [recording_id]

    assert [r["recording_id"] for r in alice.search("locking")] == [recording_id]


@pytest.mark.parametrize("query", ["the and of", "и в на", "!!! ... ???", "   ", "-- ; --"])
def test_a_query_with_nothing_to_search_is_a_typed_error_and_audited(alice: UserAPI, inbox: None,
                                                                   query: str) -> None:
    lecture(alice, DATABASES)

    with pytest.raises(ValidationError, match="search query has"):
        alice.search(query)

    with alice.leap.db.session() as session:
        details = session.scalars(select(AuditLog.details).where(AuditLog.action == "search.reject")).all()
    assert details and all(set(d) == {"reason", "query_chars"} for d in details)


@pytest.mark.parametrize("query", [
    "locking'; DROP TABLE transcript_cues; --", 'locking" OR user_id : "x', "locking) OR (1=1", "NEAR(locking *",
    "locking AND NOT", "user_id:* locking", "terms : lock*", "\"unbalanced locking", "locking\x00",
])
def test_injection_looking_input_is_just_words(alice: UserAPI, bob: UserAPI, inbox: None, query: str) -> None:
    lecture(alice, DATABASES)
    lecture(bob, "Bob's own locking lecture.")

    found = alice.search(query)

    assert all(r["recording_id"] != bob.user_id for r in found)
    assert "Bob's own locking lecture." not in [t for _, t in moments(found)]
    with alice.leap.db.session() as session:
        assert session.scalar(select(func.count()).select_from(TranscriptCue)) == 6


def test_the_fts5_expression_quotes_every_token() -> None:
    match = fts5_match('locks" OR terms : "x * NEAR(')

    assert match is not None and match.startswith("terms : (")
    assert '"x"' in match and "*" not in match and "NEAR(" not in match and match.count(":") == 1
    outside_quotes = match.split('"')[::2]
    assert set("".join(outside_quotes)) <= set("terms:() ANDOR")


def test_moments_link_to_the_published_videos_at_their_second(alice: UserAPI, inbox: None) -> None:
    recording_id = lecture(alice, DATABASES)
    with alice.leap.db.session() as session:
        session.execute(OutputTarget.__table__.delete().where(OutputTarget.recording_id == recording_id))
        session.add_all([
            OutputTarget(recording_id=recording_id, platform="youtube", status=TargetStatus.UPLOADED,
                         video_id="dQw4w9WgXcQ", url="https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
            OutputTarget(recording_id=recording_id, platform="vk", status=TargetStatus.UPLOADED,
                         video_id="-123_456", url="https://vk.com/video-123_456"),
            OutputTarget(recording_id=recording_id, platform="local", status=TargetStatus.UPLOADED,
                         video_id="alice/x", url="file:///exports/alice/x/video.mp4"),
        ])

    moment = next(m for m in alice.search("deadlock")[0]["moments"] if m["start_s"] == 30.0)

    assert moment["links"] == {"youtube": "https://youtu.be/dQw4w9WgXcQ?t=30",
                               "vk": "https://vk.com/video-123_456?t=30",
                               "local": "file:///exports/alice/x/video.mp4#t=30"}
    with alice.leap.db.session() as session:
        session.execute(update(OutputTarget).where(OutputTarget.platform == "vk")
                        .values(status=TargetStatus.FAILED))
    assert set(alice.search("deadlock")[0]["moments"][0]["links"]) == {"youtube", "local"}


def test_a_search_sends_two_statements_whatever_the_hits(alice: UserAPI, inbox: None) -> None:
    for _ in range(3):
        lecture(alice, DATABASES)
    with counted_queries(alice.leap) as few:
        alice.search("locking", limit=1)
    with counted_queries(alice.leap) as many:
        assert len(moments(alice.search("locking", limit=50))) == 12  # lock, locks, locking: 4 cues each
    searches = [s for s in few if "transcript_cues" in s or "recordings" in s]
    assert len(searches) == 2 and len([s for s in many if "transcript_cues" in s or "recordings" in s]) == 2


def test_the_subtitles_stage_indexes_the_transcript(alice: UserAPI, inbox: None) -> None:
    recording_id = lecture(alice, DATABASES)
    alice.leap.pipeline.index_for_search(recording_id)  # idempotent: rows replaced, not added
    with alice.leap.db.session() as session:
        session.execute(TranscriptCue.__table__.delete())
    force_status(alice, [recording_id], RecordingStatus.TRANSCRIBING)

    outcome = alice.leap.pipeline.subtitles(recording_id)

    assert outcome.status == "completed" and outcome.metadata["search_cues"] == 5
    assert [r["recording_id"] for r in alice.search("snapshot")] == [recording_id]


@pytest.mark.usefixtures("cli_env")
def test_leap_search_prints_the_moments(alice: UserAPI, inbox: None, monkeypatch: pytest.MonkeyPatch) -> None:
    lecture(alice, DATABASES)
    monkeypatch.setenv("LEAP_ACTOR", "alice")

    code, table, _ = leap("search", "two-phase locking")
    json_code, as_json, _ = leap("search", "two-phase locking", "--json", "--limit", "1")
    bad_code, _, bad_err = leap("search", "the")

    assert code == 0 and "Two-phase locking is the classic answer" in table and "0:10" in table
    assert json_code == 0 and len(json.loads(as_json)[0]["moments"]) == 1
    assert bad_code == 1 and "only stop words" in bad_err
