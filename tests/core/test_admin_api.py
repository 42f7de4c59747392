"""The admin API: only for admins, documented call by call, and every change leaves an audit trail."""

from __future__ import annotations

import inspect

import pytest

from leap_core.api import AdminAPI, Leap, UserAPI
from leap_core.audit import AuditQuery
from leap_core.errors import NotFoundError, PermissionDeniedError
from tests.support.admins import make_admin


def test_a_non_admin_cannot_get_the_admin_api(leap: Leap, alice: UserAPI) -> None:
    with pytest.raises(PermissionDeniedError, match="'alice' is not an admin"):
        leap.admin("alice")


def test_every_public_admin_call_has_a_docstring() -> None:
    calls = [name for name, member in inspect.getmembers(AdminAPI, inspect.isfunction) if not name.startswith("_")]
    assert calls and [name for name in calls if not inspect.getdoc(getattr(AdminAPI, name))] == []


def test_users_are_named_by_slug_or_id_and_unknown_ones_are_not_found(leap: Leap, alice: UserAPI) -> None:
    admin = make_admin(leap)
    assert admin.quotas("alice") == admin.quotas(alice.user_id)
    with pytest.raises(NotFoundError, match="user not found: nobody"):
        admin.usage("nobody")


def test_every_admin_change_is_audited_with_its_actor(leap: Leap, alice: UserAPI) -> None:
    admin = make_admin(leap)
    admin.create_plan("pro", max_storage_gb=10)
    admin.update_plan("pro", max_storage_gb=20)
    admin.subscribe("alice", "pro")
    admin.set_quota_overrides("alice", max_concurrent_tasks=3)
    admin.clear_quota_overrides("alice", "max_concurrent_tasks")
    admin.unsubscribe("alice")
    admin.delete_plan("pro")
    trail = [(e["action"], e["actor"]) for e in reversed(admin.audit(AuditQuery(resource_type="plan")))]
    trail += [(e["action"], e["actor"]) for e in reversed(admin.audit(AuditQuery(user_id=alice.user_id)))
              if e["action"] != "user.create"]
    assert trail == [("plan.create", "root"), ("plan.update", "root"), ("plan.delete", "root"),
                     ("subscription.set", "root"), ("quota.override", "root"), ("quota.override", "root"),
                     ("subscription.delete", "root")]
    (deleted,) = admin.audit(AuditQuery(action="plan.delete"))
    assert deleted["details"]["before"]["max_storage_gb"] == 20.0


def test_subscriptions_list_shows_plan_and_overrides(leap: Leap, alice: UserAPI, bob: UserAPI) -> None:
    admin = make_admin(leap)
    admin.create_plan("pro")
    admin.subscribe("alice", "pro")
    admin.set_quota_overrides("alice", max_automation_jobs=4)
    (only,) = admin.subscriptions()
    assert (only["user_id"], only["plan"], only["custom_max_automation_jobs"]) == (alice.user_id, "pro", 4)
