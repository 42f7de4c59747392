"""Effective quotas: override beats plan beats default, and every plan or override change is audited."""

from __future__ import annotations

import pytest

from leap_core.api import Leap, UserAPI
from leap_core.audit import AuditQuery
from leap_core.config import QuotaDefaults
from leap_core.db.models import SubscriptionPlan, UserSubscription
from leap_core.errors import NotFoundError, ValidationError
from leap_core.quotas import resolve
from tests.support.admins import make_admin

DEFAULTS = QuotaDefaults(max_recordings_per_month=5, max_storage_gb=1.0, max_concurrent_tasks=None)


@pytest.mark.parametrize(
    ("subscribed", "plan_value", "override", "expected", "source"),
    [
        (False, None, None, 5, "default"),
        (True, 100, None, 100, "plan:pro"),
        (True, 100, 7, 7, "plan:pro"),
        (True, None, None, None, "plan:pro"),  # the plan says unlimited: the default does not creep back
        (True, None, 3, 3, "plan:pro"),
        (True, 100, 0, 0, "plan:pro"),  # zero is a limit, not "unset"
    ],
)
def test_effective_quota_is_the_override_else_the_plan_else_the_default(
    subscribed: bool, plan_value: int | None, override: int | None, expected: int | None, source: str
) -> None:
    plan = SubscriptionPlan(name="pro", max_recordings_per_month=plan_value)
    subscription = UserSubscription(custom_max_recordings_per_month=override) if subscribed else None
    quotas = resolve(plan if subscribed else None, subscription, DEFAULTS)
    assert (quotas.max_recordings_per_month, quotas.source) == (expected, source)


def test_a_user_without_subscription_gets_the_default_quotas_from_the_environment(
    alice: UserAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DEFAULT_MAX_RECORDINGS_PER_MONTH", "12")
    assert alice.quotas()["max_recordings_per_month"] == 12
    assert alice.quotas()["source"] == "default"


def test_subscribing_overriding_and_clearing_change_the_effective_quotas(leap: Leap, alice: UserAPI) -> None:
    admin = make_admin(leap)
    admin.create_plan("pro", max_recordings_per_month=100, max_storage_gb=50)
    admin.subscribe("alice", "pro")
    assert admin.quotas("alice")["max_recordings_per_month"] == 100
    admin.set_quota_overrides("alice", max_recordings_per_month=150)
    assert alice.quotas()["max_recordings_per_month"] == 150
    assert alice.quotas()["max_storage_gb"] == 50
    admin.clear_quota_overrides("alice")
    assert alice.quotas()["max_recordings_per_month"] == 100
    admin.unsubscribe("alice")
    assert alice.quotas()["source"] == "default"


def test_plan_changes_and_overrides_are_audited_with_before_and_after(leap: Leap, alice: UserAPI) -> None:
    admin = make_admin(leap)
    admin.create_plan("pro", max_recordings_per_month=100)
    admin.update_plan("pro", max_recordings_per_month=200)
    admin.subscribe("alice", "pro")
    admin.set_quota_overrides("alice", max_storage_gb=2)
    (plan_update,) = admin.audit(AuditQuery(action="plan.update"))
    assert plan_update["details"]["before"] == {"max_recordings_per_month": 100}
    assert plan_update["details"]["after"] == {"max_recordings_per_month": 200}
    (override,) = admin.audit(AuditQuery(action="quota.override", user_id=alice.user_id))
    assert override["details"] == {"before": {"custom_max_storage_gb": None}, "after": {"custom_max_storage_gb": 2.0}}
    assert override["actor"] == "root"


def test_moving_to_another_plan_keeps_the_users_overrides(leap: Leap, alice: UserAPI) -> None:
    admin = make_admin(leap)
    admin.create_plan("basic", max_recordings_per_month=10, max_concurrent_tasks=1)
    admin.create_plan("pro", max_recordings_per_month=100, max_concurrent_tasks=4)
    admin.subscribe("alice", "basic")
    admin.set_quota_overrides("alice", max_concurrent_tasks=2)
    admin.subscribe("alice", "pro")
    assert (alice.quotas()["max_recordings_per_month"], alice.quotas()["max_concurrent_tasks"]) == (100, 2)
    (moved,) = [e for e in admin.audit(AuditQuery(action="subscription.set")) if e["details"]["before"]["plan"]]
    assert moved["details"] == {"before": {"plan": "basic"}, "after": {"plan": "pro"}}


def test_a_plan_with_subscribers_cannot_be_deleted(leap: Leap, alice: UserAPI) -> None:
    admin = make_admin(leap)
    admin.create_plan("pro", max_recordings_per_month=100)
    admin.subscribe("alice", "pro")
    with pytest.raises(ValidationError, match="1 subscriber"):
        admin.delete_plan("pro")
    admin.unsubscribe("alice")
    admin.delete_plan("pro")
    assert admin.plans() == []


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_recordings": 5}, "unknown quota"),
        ({"max_storage_gb": -1}, "non-negative"),
        ({"max_concurrent_tasks": 1.5}, "whole number"),
    ],
)
def test_bad_limits_are_refused_before_anything_is_written(leap: Leap, limits: dict[str, float], message: str) -> None:
    admin = make_admin(leap)
    with pytest.raises(ValidationError, match=message):
        admin.create_plan("odd", **limits)
    assert admin.plans() == []


def test_duplicate_plan_names_and_unknown_plans_are_clear_errors(leap: Leap, alice: UserAPI) -> None:
    admin = make_admin(leap)
    admin.create_plan("pro")
    with pytest.raises(ValidationError, match="already exists"):
        admin.create_plan("pro")
    with pytest.raises(NotFoundError, match="plan not found: gold"):
        admin.subscribe("alice", "gold")
    with pytest.raises(NotFoundError, match="no subscription"):
        admin.set_quota_overrides("alice", max_storage_gb=1)
