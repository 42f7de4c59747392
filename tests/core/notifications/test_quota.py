"""Quota warnings: 80% and 100% of a limit, each reported once per quota per period."""

from __future__ import annotations

from pathlib import Path

import pytest

from leap_core.api import UserAPI
from leap_core.notifications import quota_warning_event
from leap_core.notifications.quota import notify_quota_levels
from leap_core.quotas import EffectiveQuotas
from leap_core.usage import period_of
from tests.support.builders import add_inbox, register_many

FIVE_A_MONTH = EffectiveQuotas(5, 1.0, None, None, None, "test")


def titles(api: UserAPI) -> list[str]:
    return sorted(n["title"] for n in api.notifications.list())


def test_registering_recordings_warns_at_80_and_at_100_percent_once_each(
    alice: UserAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MAX_RECORDINGS_PER_MONTH", "5")
    add_inbox(alice, tmp_path)
    period = period_of()

    register_many(alice, 3)
    assert titles(alice) == []
    register_many(alice, 1)
    assert titles(alice) == [f"Monthly recordings quota at 80% for {period}"]
    register_many(alice, 1)
    assert titles(alice) == [f"Monthly recordings quota at 80% for {period}",
                             f"Monthly recordings quota reached for {period}"]
    [warning] = [n for n in alice.notifications.list() if n["type"] == "quota.warning"]
    assert warning["data"] == {"quota": "max_recordings_per_month", "used": 4, "limit": 5, "period": period,
                               "level": 80}


def test_the_same_level_in_the_same_period_is_reported_once(alice: UserAPI) -> None:
    for used in (4, 4, 4):
        with alice.leap.db.session() as session:
            notify_quota_levels(session, alice.user_id, "202601", FIVE_A_MONTH, used, 0.0)
    assert len(alice.notifications.list()) == 1


def test_a_new_period_warns_again(alice: UserAPI) -> None:
    for period in ("202601", "202602"):
        with alice.leap.db.session() as session:
            notify_quota_levels(session, alice.user_id, period, FIVE_A_MONTH, 4, 0.85)
    assert titles(alice) == [
        "Monthly recordings quota at 80% for 202601", "Monthly recordings quota at 80% for 202602",
        "Storage quota at 80% for 202601", "Storage quota at 80% for 202602",
    ]


def test_usage_below_80_percent_or_without_a_limit_is_no_event() -> None:
    assert quota_warning_event("u1", "max_storage_gb", 0.79, 1.0, "202601") is None
    assert quota_warning_event("u1", "max_storage_gb", 500, None, "202601") is None
    jumped = quota_warning_event("u1", "max_storage_gb", 1.2, 1.0, "202601")
    assert jumped is not None and jumped.data["level"] == 100 and jumped.type == "quota.reached"
