"""Usage per month and its enforcement: exact under concurrency, refused with the numbers, audited."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from leap_core import launcher, recordings, usage
from leap_core.api import Leap, UserAPI
from leap_core.audit import AuditQuery
from leap_core.config import QuotaDefaults
from leap_core.db.models import QuotaUsage, Source, Template, User
from leap_core.errors import QuotaExceededError
from leap_core.quotas import effective_quotas
from leap_core.sources.base import SourceFile
from tests.conftest import TEST_ACTOR
from tests.support.admins import make_admin
from tests.support.builders import add_inbox, register_many


def register_one(session: Session, user_id: str, size: int = 1000) -> None:
    user = session.get_one(User, user_id)
    source = session.query(Source).filter_by(user_id=user_id).one()
    template = session.query(Template).filter_by(user_id=user_id).one()
    recordings.register(session, TEST_ACTOR, user, source, template,
                        SourceFile(file_id=uuid.uuid4().hex, name="Lecture.mp4", size=size, recorded_at=None))


def test_registering_counts_the_recording_and_its_bytes_this_month(alice: UserAPI, tmp_path: Path) -> None:
    add_inbox(alice, tmp_path)
    register_many(alice, 3)
    now = alice.usage()
    assert (now["period"], now["recordings_count"], now["storage_bytes"]) == (usage.period_of(), 3, 3000)


def test_the_recording_over_the_monthly_limit_is_refused_with_limit_and_usage_and_audited(
    leap: Leap, alice: UserAPI, tmp_path: Path
) -> None:
    admin = make_admin(leap)
    admin.create_plan("tiny", max_recordings_per_month=2)
    admin.subscribe("alice", "tiny")
    add_inbox(alice, tmp_path)
    register_many(alice, 2)
    with leap.db.session() as session, pytest.raises(QuotaExceededError, match="2 of 2 recordings") as refused:
        register_one(session, alice.user_id)
    assert (refused.value.quota, refused.value.limit, refused.value.current) == ("max_recordings_per_month", 2, 2)
    (entry,) = alice.activity(action="quota.exceeded")
    assert entry["result"] == "refused"
    assert entry["details"] == {"quota": "max_recordings_per_month", "limit": 2, "current": 2}
    assert len(alice.recordings()) == 2
    assert alice.usage()["recordings_count"] == 2


def test_a_file_that_does_not_fit_the_storage_quota_is_refused_in_gigabytes(
    leap: Leap, alice: UserAPI, tmp_path: Path
) -> None:
    admin = make_admin(leap)
    admin.create_plan("small", max_storage_gb=0.000002)  # 2147 bytes (GiB)
    admin.subscribe("alice", "small")
    add_inbox(alice, tmp_path)
    register_many(alice, 2)
    with leap.db.session() as session, pytest.raises(QuotaExceededError, match="storage quota exceeded") as refused:
        register_one(session, alice.user_id, size=500)
    assert refused.value.quota == "max_storage_gb"


def test_released_storage_is_given_back_but_never_below_zero(alice: UserAPI, tmp_path: Path) -> None:
    add_inbox(alice, tmp_path)
    register_many(alice, 2)
    with alice.leap.db.session() as session:
        assert usage.release_storage(session, alice.user_id, 1500).storage_bytes == 500
        assert usage.release_storage(session, alice.user_id, 1500).storage_bytes == 0
        assert usage.add_storage(session, alice.user_id, 70).storage_bytes == 70
        assert usage.add_transcription_seconds(session, alice.user_id, 12.5).transcription_seconds == 12.5
    assert alice.usage()["recordings_count"] == 2


def test_a_new_month_starts_counting_from_zero_but_keeps_the_storage_in_use(alice: UserAPI) -> None:
    with alice.leap.db.session() as session:
        session.add(QuotaUsage(user_id=alice.user_id, period="202001", recordings_count=9, storage_bytes=4000,
                               transcription_seconds=60.0))
    assert alice.usage() | {"quotas": None} == {
        "period": usage.period_of(), "recordings_count": 0, "storage_bytes": 4000, "transcription_seconds": 0.0,
        "storage_gb": 0.000004, "quotas": None}
    with alice.leap.db.session() as session:
        assert usage.add_transcription_seconds(session, alice.user_id, 5).storage_bytes == 4000
        assert [u.period for u in usage.usage_history(session, alice.user_id)] == ["202001", usage.period_of()]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_fifty_concurrent_registrations_against_a_limit_of_ten_leave_exactly_ten(
    leap: Leap, alice: UserAPI, tmp_path: Path
) -> None:
    admin = make_admin(leap)
    admin.create_plan("ten", max_recordings_per_month=10)
    admin.subscribe("alice", "ten")
    add_inbox(alice, tmp_path, process_on_arrival=False)
    engine = create_engine(leap.db.url, pool_size=50, max_overflow=0)  # fifty real connections at once
    start = threading.Barrier(50)
    outcomes: list[str] = []

    def worker() -> None:
        with Session(engine) as session, session.begin():
            session.get_one(User, alice.user_id)  # the connection is open before anyone starts
            start.wait(timeout=30)
            try:
                register_one(session, alice.user_id)
                outcomes.append("registered")
            except QuotaExceededError:
                outcomes.append("refused")

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.dispose()
    assert (outcomes.count("registered"), outcomes.count("refused")) == (10, 40)
    assert alice.usage()["recordings_count"] == 10
    assert len(alice.recordings()) == 10
    assert len(alice.activity(action="quota.exceeded")) == 40


def test_the_launcher_holds_back_runs_over_the_concurrency_limit_and_takes_them_later(
    leap: Leap, alice: UserAPI, bob: UserAPI, tmp_path: Path
) -> None:
    admin = make_admin(leap)
    admin.create_plan("two-at-a-time", max_concurrent_tasks=2)
    admin.subscribe("alice", "two-at-a-time")
    add_inbox(alice, tmp_path)
    add_inbox(bob, tmp_path)
    register_many(alice, 5)  # five arrivals: five run requests
    register_many(bob, 3)
    defaults = QuotaDefaults()
    with leap.db.session() as session:
        first = launcher.next_batch(session, defaults, limit=50)
        assert [i.user_id for i in first].count(alice.user_id) == 2
        assert [i.user_id for i in first].count(bob.user_id) == 3
        assert launcher.claim(session, first) == first
        launcher.mark_launched(session, {i.request_id: f"run-{i.request_id}" for i in first})
    with leap.db.session() as session:
        assert launcher.next_batch(session, defaults, limit=50) == []  # alice waits, nothing dropped
        alice_runs = [f"run-{i.request_id}" for i in first if i.user_id == alice.user_id]
        launcher.mark_finished(session, alice_runs[:1])
    with leap.db.session() as session:
        later = launcher.next_batch(session, defaults, limit=50)
        assert [i.user_id for i in later] == [alice.user_id]


def test_automation_job_quotas_refuse_one_job_too_many_and_too_frequent_schedules(
    leap: Leap, alice: UserAPI
) -> None:
    admin = make_admin(leap)
    admin.create_plan("scheduled", max_automation_jobs=2, min_automation_interval_hours=6)
    admin.subscribe("alice", "scheduled")
    with leap.db.session() as session:
        usage.lock_user(session, alice.user_id)
        usage.check_automation_job_count(session, alice.user_id, 1)
        usage.check_automation_interval(session, alice.user_id, 6)
        with pytest.raises(QuotaExceededError, match="2 of 2 jobs"):
            usage.check_automation_job_count(session, alice.user_id, 2, actor=TEST_ACTOR)
        with pytest.raises(QuotaExceededError, match="minimum interval of 6 h"):
            usage.check_automation_interval(session, alice.user_id, 1, quotas=effective_quotas(session, alice.user_id))
    refusals = admin.audit(AuditQuery(action="quota.exceeded", user_id=alice.user_id))
    assert {e["details"]["quota"] for e in refusals} == {"max_automation_jobs", "min_automation_interval_hours"}


def test_storage_that_grows_past_its_limit_is_counted_and_reported_once_a_day(leap: Leap, alice: UserAPI) -> None:
    admin = make_admin(leap)
    admin.create_plan("tiny", max_storage_gb=0.000001)  # 1073 bytes
    admin.subscribe("alice", "tiny")
    for _ in range(2):
        with leap.db.session() as session:
            usage.add_storage(session, alice.user_id, 5000)
    assert alice.usage()["storage_bytes"] == 10000
    overages = [n for n in alice.notifications.list() if n["type"] == "storage.overage"]
    assert len(overages) == 1
