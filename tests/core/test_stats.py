"""Statistics against hand-built fixtures: every number below is counted by hand from the set-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leap_core.api import AdminAPI, Leap, UserAPI
from leap_core.db.models import ProcessingStage, Recording
from leap_core.quotas import GIB
from leap_core.states import RecordingStatus
from tests.support.admins import make_admin
from tests.support.builders import add_inbox, register_many

JAN = datetime(2026, 1, 10, tzinfo=UTC)
FEB = datetime(2026, 2, 10, tzinfo=UTC)


def shape(api: UserAPI, ids: list[str], status: RecordingStatus, recorded_at: datetime,
          duration_s: float, storage_bytes: int, transcribe_seconds: float | None = None) -> None:
    """Set the measured facts directly (test set-up); a transcribe attempt marks them transcribed."""
    with api.leap.db.session() as session:
        for recording in session.query(Recording).filter(Recording.id.in_(ids)):
            recording.status, recording.recorded_at = status, recorded_at
            recording.duration_s, recording.storage_bytes = duration_s, storage_bytes
            if transcribe_seconds is not None:
                recording.transcription_s, recording.transcription_period = duration_s, "202601"
                session.add(ProcessingStage(recording_id=recording.id, stage="transcribe", status="completed",
                                            started_at=recorded_at,
                                            completed_at=recorded_at + timedelta(seconds=transcribe_seconds)))


@pytest.fixture
def admin(leap: Leap, alice: UserAPI, bob: UserAPI, tmp_path: Path) -> AdminAPI:
    """alice: 2 uploaded in Jan (600 s each, transcribed), 1 failed in Feb; bob: 3 skipped in Feb; carol: none."""
    add_inbox(alice, tmp_path)
    add_inbox(bob, tmp_path)
    shape(alice, register_many(alice, 2), RecordingStatus.UPLOADED, JAN, 600.0, GIB, 10.0)
    shape(alice, register_many(alice, 1), RecordingStatus.FAILED, FEB, 300.0, GIB // 2)
    shape(bob, register_many(bob, 3), RecordingStatus.SKIPPED, FEB, 5.0, 0)
    admin = make_admin(leap)
    admin.create_user("carol")
    return admin


def test_a_users_totals_count_their_recordings_transcription_and_storage(admin: AdminAPI, alice: UserAPI) -> None:
    totals = alice.stats().totals.iloc[0]
    assert (totals["recordings"], totals["uploaded"], totals["failed"], totals["skipped"]) == (3, 2, 1, 0)
    assert totals["transcription_seconds"] == 1200.0  # the failed one never finished transcribing
    assert (totals["storage_bytes"], totals["storage_gb"]) == (GIB * 5 // 2, 2.5)  # storage GB are GiB
    assert (totals["first_recorded_at"], totals["last_recorded_at"]) == (JAN, FEB)


def test_a_date_range_keeps_only_the_recordings_made_in_it(admin: AdminAPI, alice: UserAPI) -> None:
    january = alice.stats(since=JAN.replace(day=1), until=FEB.replace(day=1))
    assert january.totals.iloc[0]["recordings"] == 2
    assert january.by_status.to_dict("records") == [{"status": "UPLOADED", "recordings": 2}]


def test_recordings_are_grouped_by_status_and_by_template(admin: AdminAPI, alice: UserAPI) -> None:
    stats = alice.stats()
    assert stats.by_status.to_dict("records") == [{"status": "FAILED", "recordings": 1},
                                                  {"status": "UPLOADED", "recordings": 2}]
    assert stats.by_template.to_dict("records") == [{"template": "inbox", "recordings": 3}]


def test_the_admin_per_user_table_has_every_user_including_those_without_recordings(admin: AdminAPI) -> None:
    table = admin.user_table().set_index("user")
    assert list(table.index) == ["alice", "bob", "carol", "root"]
    assert table.loc["alice", "recordings"] == 3 and table.loc["bob", "skipped"] == 3
    assert table.loc["carol", "recordings"] == 0 and table.loc["carol", "storage_bytes"] == 0


def test_the_platform_overview_adds_up_the_per_user_table(admin: AdminAPI) -> None:
    overview = admin.platform_overview().iloc[0]
    table = admin.user_table()
    assert (overview["users"], overview["active_users"], overview["recordings"]) == (4, 2, 6)
    for column in ("recordings", "uploaded", "failed", "skipped", "transcription_seconds", "storage_bytes"):
        assert overview[column] == table[column].sum()


def test_time_per_stage_reports_the_mean_and_95th_percentile(admin: AdminAPI, alice: UserAPI) -> None:
    with alice.leap.db.session() as session:
        for seconds in range(1, 21):  # 1..20 s of trimming: mean 10.5, p95 19.05 (linear interpolation)
            session.add(ProcessingStage(recording_id=alice.recordings()[0]["id"], stage="trim", status="completed",
                                        started_at=JAN, completed_at=JAN + timedelta(seconds=seconds)))
    times = admin.stage_times().set_index("stage")
    assert times.loc["trim"].to_dict() == {"runs": 20, "mean_s": 10.5, "p95_s": 19.05}
    assert times.loc["transcribe"].to_dict() == {"runs": 2, "mean_s": 10.0, "p95_s": 10.0}
    assert list(admin.stage_times(user="bob").columns) == ["stage", "runs", "mean_s", "p95_s"]
    assert admin.stage_times(user="bob").empty


def test_the_sql_percentile_matches_linear_interpolation_for_any_count_of_attempts(
    admin: AdminAPI, alice: UserAPI
) -> None:
    """Both dialects' p95 (percentile_cont; SQLite's window-function equivalent) against numpy's, on
    uneven millisecond durations and groups of 1, 2, 7 and 101 attempts."""
    import numpy as np

    durations = {f"stage-{n}": [((i * 7919) % 1000 + 1) / 8.0 for i in range(n)] for n in (1, 2, 7, 101)}
    with alice.leap.db.session() as session:
        for stage, values in durations.items():
            for value in values:
                session.add(ProcessingStage(recording_id=alice.recordings()[0]["id"], stage=stage,
                                            status="completed", started_at=JAN,
                                            completed_at=JAN + timedelta(seconds=value)))
    times = admin.stage_times().set_index("stage")
    for stage, values in durations.items():
        assert times.loc[stage, "runs"] == len(values)
        assert times.loc[stage, "mean_s"] == pytest.approx(np.mean(values), abs=2e-3)
        assert times.loc[stage, "p95_s"] == pytest.approx(np.percentile(values, 95), abs=2e-3)


def test_quota_usage_per_period_sits_beside_the_effective_limits(admin: AdminAPI, alice: UserAPI) -> None:
    admin.create_plan("pro", max_recordings_per_month=100)
    admin.subscribe("alice", "pro")
    usage = admin.quota_usage(user="alice")
    assert usage[["user", "recordings_count", "storage_bytes", "plan", "max_recordings_per_month"]].to_dict(
        "records") == [{"user": "alice", "recordings_count": 3, "storage_bytes": 3000, "plan": "plan:pro",
                        "max_recordings_per_month": 100}]
    assert set(admin.quota_usage()["user"]) == {"alice", "bob"}
