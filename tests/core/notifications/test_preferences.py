"""Preferences: sensible defaults, per-event channels, validated input, changes audited."""

from __future__ import annotations

import re

import pytest

from leap_core.api import UserAPI
from leap_core.db.models import User
from leap_core.errors import ValidationError
from leap_core.notifications import preferences
from leap_core.secrets import SecretBox
from tests.core.notifications.conftest import SECRET_KEY, WEBHOOK_SECRET


def test_defaults_send_failures_and_quota_warnings_in_app_and_by_email(alice: UserAPI) -> None:
    shown = alice.notifications.preferences()
    assert shown["events"]["processing.failed"] == ["in_app", "email"]
    assert shown["events"]["upload.failed"] == ["in_app", "email"]
    assert shown["events"]["quota.warning"] == ["in_app", "email"]
    assert shown["events"]["recording.published"] == ["in_app"]
    assert (shown["email"], shown["webhook"], shown["summary"]) == ("alice@example.org", None, "off")


def test_changing_one_event_keeps_the_others(alice: UserAPI) -> None:
    alice.notifications.set_preferences(events={"recording.published": ["in_app", "email"]}, summary="weekly")
    alice.notifications.set_preferences(events={"upload.failed": ["webhook"]})
    shown = alice.notifications.preferences()
    assert shown["events"]["recording.published"] == ["in_app", "email"]
    assert shown["events"]["upload.failed"] == ["webhook"]
    assert shown["summary"] == "weekly"


def test_a_change_is_audited_without_the_webhook_secret(alice: UserAPI) -> None:
    alice.notifications.set_preferences(webhook_url="https://93.184.215.14/leap", webhook_secret=WEBHOOK_SECRET)
    [entry] = alice.activity(action="notification.preferences")
    assert entry["details"]["after"]["webhook"]["url"] == "https://93.184.215.14/leap"
    assert WEBHOOK_SECRET not in str(entry)


def test_removing_the_webhook_forgets_its_secret(alice: UserAPI) -> None:
    alice.notifications.set_preferences(webhook_url="https://93.184.215.14/leap", webhook_secret=WEBHOOK_SECRET)
    assert alice.notifications.set_preferences(remove_webhook=True)["webhook"] is None


@pytest.mark.parametrize(("change", "message"), [
    ({"events": {"lunch.ready": ["email"]}}, "unknown event type(s): lunch.ready"),
    ({"events": {"upload.failed": ["sms"]}}, "unknown channel(s) for upload.failed: sms"),
    ({"email": "not an address"}, "not an email address: 'not an address'"),
    ({"webhook_url": "ftp://x", "webhook_secret": WEBHOOK_SECRET}, "a webhook URL must start with https://"),
    ({"webhook_url": "https://93.184.215.14", "webhook_secret": "short"}, "signing secret of at least 16"),
    ({"summary": "hourly"}, "summary must be one of off, daily, weekly"),
])
def test_bad_preferences_are_refused_with_a_clear_message(change: dict[str, object], message: str) -> None:
    user = User(slug="carol", email=None, preferences={})
    with pytest.raises(ValidationError, match=re.escape(message)):
        preferences.update(user, SecretBox([SECRET_KEY]), **change)  # type: ignore[arg-type]
    assert user.preferences == {}, "nothing is half-applied"
