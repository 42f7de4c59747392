"""The audit log names who really acted, records every refusal with its reason, and redacts by field name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leap_core import audit
from leap_core.api import Leap, UserAPI
from leap_core.api.automation import AutomationAPI
from leap_core.audit import Actor, AuditQuery, scrub
from leap_core.errors import NotFoundError, PermissionDeniedError, QuotaExceededError, ValidationError
from leap_core.refusals import CROSS_TENANT
from leap_core.states import RecordingStatus
from tests.support.admins import make_admin
from tests.support.builders import add_inbox, force_status, register_many

DAILY = {"type": "daily", "time": "06:00", "timezone": "Europe/Berlin"}


def _retry_records(api: UserAPI) -> list[dict[str, object]]:
    return api.activity(action="recording.retry")


def test_an_as_user_call_records_the_user_as_actor_and_the_caller_as_operator(
    leap: Leap, alice: UserAPI, tmp_path: Path
) -> None:
    add_inbox(alice, tmp_path, process_on_arrival=False)
    (recording,) = register_many(alice, 1)
    force_status(alice, [recording], RecordingStatus.FAILED, "download")
    leap.as_user(alice.user_id, Actor("ops-console", origin="api")).retry([recording])
    (entry,) = _retry_records(alice)
    assert (entry["actor"], entry["operator"], entry["user_id"]) == ("alice", "ops-console", alice.user_id)


def test_acting_as_oneself_records_no_operator(leap: Leap, alice: UserAPI) -> None:
    me = leap.as_user("alice", Actor("alice", origin="cli"))
    me.notifications.set_preferences(summary="daily")
    (entry,) = me.activity(action="notification.preferences")
    assert (entry["actor"], entry["operator"], entry["origin"]) == ("alice", None, "cli")


def test_leap_actor_is_the_operator_when_the_api_acts_for_another_user(leap: Leap, alice: UserAPI) -> None:
    leap.settings.actor = "batch-importer"
    leap.as_user(alice.user_id).notifications.set_preferences(summary="weekly")
    (entry,) = alice.activity(action="notification.preferences")
    assert (entry["actor"], entry["operator"]) == ("alice", "batch-importer")


def test_another_users_id_is_refused_recorded_as_not_found_and_flagged_to_admins_only(
    leap: Leap, alice: UserAPI, bob: UserAPI, tmp_path: Path
) -> None:
    add_inbox(alice, tmp_path, process_on_arrival=False)
    (recording,) = register_many(alice, 1)
    with pytest.raises(NotFoundError):
        bob.retry([recording])
    (own,) = bob.activity(action="recording.retry")
    assert (own["result"], own["user_id"], own["resource_type"], own["resource_id"]) == (
        "refused", bob.user_id, "recordings", recording)
    assert own["details"]["kind"] == "not_found"
    assert own["details"]["reason"] == f"recording not found: {recording}"
    assert alice.user_id not in json.dumps(bob.activity(), default=str)  # bob learns nothing of alice
    assert alice.activity(action="recording.retry") == []
    (flag,) = make_admin(leap).audit(AuditQuery(action=CROSS_TENANT))
    assert (flag["user_id"], flag["resource_id"]) == (None, recording)
    assert flag["details"] == {"attempted": "recording.retry", "caller": bob.user_id, "owner": alice.user_id}


def test_a_missing_id_is_refused_without_a_cross_tenant_flag(leap: Leap, bob: UserAPI) -> None:
    with pytest.raises(NotFoundError):
        bob.templates_api.show("no-such-template")
    (own,) = bob.activity(action="template.show")
    assert (own["result"], own["details"]["kind"]) == ("refused", "not_found")
    assert make_admin(leap).audit(AuditQuery(action=CROSS_TENANT)) == []


def test_a_non_admin_asking_for_the_admin_api_is_recorded(leap: Leap, alice: UserAPI) -> None:
    with pytest.raises(PermissionDeniedError):
        leap.admin("alice")
    (entry,) = alice.activity(action="admin.access")
    assert (entry["result"], entry["details"]["kind"], entry["actor"]) == ("refused", "not_admin", "alice")


def test_quota_and_minimum_interval_refusals_are_recorded_with_their_reason(
    leap: Leap, alice: UserAPI, tmp_path: Path
) -> None:
    admin = make_admin(leap)
    admin.create_plan("one-job", max_automation_jobs=1, min_automation_interval_hours=12)
    admin.subscribe("alice", "one-job")
    alice.add_local_source("inbox", tmp_path / "inbox")
    alice.add_template("lectures", targets=["local"])
    jobs = AutomationAPI(alice)
    with pytest.raises(QuotaExceededError):
        jobs.create("often", "lectures", {"type": "hours", "every": 6})
    jobs.create("daily", "lectures", DAILY)
    with pytest.raises(QuotaExceededError):
        jobs.create("second", "lectures", DAILY)
    refused = [(e["details"]["kind"], e["details"]["quota"]) for e in reversed(alice.activity(action="automation.*"))
               if e["result"] == "refused"]
    assert refused == [("min_interval", "min_automation_interval_hours"), ("quota", "max_automation_jobs")]


def test_a_refusal_that_passes_through_two_api_layers_is_recorded_once(alice: UserAPI, tmp_path: Path) -> None:
    with pytest.raises(Exception):  # noqa: B017 - any refusal: outside the allowed roots
        alice.add_local_source("elsewhere", Path("/etc/leap-test-outside"))
    assert [e["action"] for e in alice.activity() if e["result"] == "refused"] == ["source.add_local"]


def test_redaction_is_by_exact_field_name_not_by_substring() -> None:
    details = {"partition_key": "20260105-alice-linear-algebra-1a2b3c4d", "api_key": "sk-live-1",
               "Client-Secret": "s3", "keyboard": "qwerty", "monkey": 1, "password": "hunter2",
               "nested": {"refresh_token": "r1", "tokens_used": 12},
               "items": [{"access_token": "a1", "key_frame": 3}], "webhook_secret_token": "w1"}
    clean = scrub(details)
    assert clean["partition_key"] == details["partition_key"]
    assert (clean["keyboard"], clean["monkey"], clean["nested"]["tokens_used"], clean["items"][0]["key_frame"]) == (
        "qwerty", 1, 12, 3)
    assert {clean[k] for k in ("api_key", "Client-Secret", "password", "webhook_secret_token")} == {"[redacted]"}
    assert (clean["nested"]["refresh_token"], clean["items"][0]["access_token"]) == ("[redacted]", "[redacted]")


def test_a_stored_partition_key_survives_the_audit(alice: UserAPI) -> None:
    with alice.leap.db.session() as session:
        audit.record(session, alice.actor, "recording.note", "recording", "r1", user_id=alice.user_id,
                     details={"partition_key": "20260105-alice-x-1a2b3c4d"})
    (entry,) = alice.activity(action="recording.note")
    assert entry["details"]["partition_key"] == "20260105-alice-x-1a2b3c4d"


def test_a_refusal_is_named_for_the_resource_of_the_call(alice: UserAPI) -> None:
    with pytest.raises(ValidationError, match="a usage period is YYYYMM"):
        alice.usage("2026-13")
    (entry,) = [e for e in alice.activity() if e["result"] == "refused"]
    assert (entry["action"], entry["details"]["kind"]) == ("quota.usage", "invalid_input")
