"""`notify`: an event is stored once per occurrence, with one outbox row per chosen outbound channel."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from leap_core.api import UserAPI
from leap_core.db.models import Notification, NotificationDelivery
from leap_core.notifications import (
    EventType,
    automation_finished,
    notify,
    recording_published,
    stage_failed,
    upload_failed,
)
from leap_core.notifications.events import upload_reason
from tests.core.notifications.conftest import WEBHOOK_SECRET


def deliveries_of(api: UserAPI, notification_id: str) -> list[str]:
    with api.leap.db.session() as session:
        return sorted(session.scalars(select(NotificationDelivery.channel).where(
            NotificationDelivery.notification_id == notification_id)))


def test_a_failure_is_stored_in_app_and_queued_for_email_by_default(alice: UserAPI) -> None:
    with alice.leap.db.session() as session:
        stored = notify(session, alice.user_id, stage_failed("rec1", "Lecture 1", "trim", "no audio stream", 7))
    assert stored is not None and stored.event_type == "processing.failed"
    assert deliveries_of(alice, stored.id) == ["email"]
    [shown] = alice.notifications.list()
    assert shown["title"] == "Processing (trim) failed: Lecture 1"
    assert shown["data"] == {"recording_id": "rec1", "stage": "trim", "reason": "no audio stream"}
    assert alice.notifications.unread_count() == 1


def test_the_same_event_is_never_stored_twice(alice: UserAPI) -> None:
    event = stage_failed("rec1", "Lecture 1", "transcribe", "model missing", 3)
    with alice.leap.db.session() as session:
        assert notify(session, alice.user_id, event) is not None
    with alice.leap.db.session() as session:
        assert notify(session, alice.user_id, event) is None
    with alice.leap.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 1
        assert session.scalar(select(func.count()).select_from(NotificationDelivery)) == 1


def test_a_second_failure_of_a_retried_recording_is_a_new_notification(alice: UserAPI) -> None:
    with alice.leap.db.session() as session:
        first = notify(session, alice.user_id, stage_failed("rec1", "L", "transcribe", "boom", 3))
        second = notify(session, alice.user_id, stage_failed("rec1", "L", "transcribe", "boom", 9))
    assert first is not None and second is not None
    assert first.event_type == second.event_type == EventType.TRANSCRIPTION_FAILED


def test_good_news_stays_in_the_app_by_default(alice: UserAPI) -> None:
    with alice.leap.db.session() as session:
        stored = notify(session, alice.user_id, recording_published("rec1", "L", "youtube", "vid9",
                                                                   "https://youtu.be/vid9"))
    assert stored is not None and stored.body == "https://youtu.be/vid9"
    assert deliveries_of(alice, stored.id) == []


def test_preferences_choose_the_channels_of_each_event(alice: UserAPI) -> None:
    alice.notifications.set_preferences(events={"automation.completed": ["email"], "upload.failed": []})
    with alice.leap.db.session() as session:
        done = notify(session, alice.user_id, automation_finished("job1", "nightly", 1, False, {"new": 2}))
        silenced = notify(session, alice.user_id, upload_failed("rec1", "L", "vk", "VK refused", 4))
    assert silenced is None
    assert done is not None and deliveries_of(alice, done.id) == ["email"]
    assert done.read_at is not None, "in-app was not chosen: the row exists only as the outbox's anchor"
    assert alice.notifications.unread_count() == 0


def test_email_is_skipped_for_a_user_without_any_address(bob: UserAPI) -> None:
    with bob.leap.db.session() as session:
        stored = notify(session, bob.user_id, stage_failed("rec1", "L", "trim", "boom", 1))
    assert stored is not None and deliveries_of(bob, stored.id) == []


def test_upload_failures_say_why_and_what_to_do() -> None:
    assert upload_reason("YouTube rejected the stored credentials: reconnect the account") == "auth"
    assert upload_reason("YouTube's daily API quota is used up; retry after 2026-01-01T08:00") == "quota"
    assert upload_reason("could not reach VK: ConnectTimeout") == "network"
    event = upload_failed("rec1", "L", "youtube", "YouTube rejected the stored credentials: reconnect the account", 2)
    assert event.data["reason"] == "auth" and event.data["action"] == "reconnect"
    assert "reconnect your youtube account" in event.body


def test_no_secret_reaches_a_stored_notification(alice: UserAPI) -> None:
    token = "fake.A0ARrdaM-very-secret-token-value"
    message = (f"POST https://api.example/upload?access_token={token}&part=x failed; "
               f"Authorization: Bearer {token}; password={WEBHOOK_SECRET}")
    event = upload_failed("rec1", "L", "youtube", message, 1)
    event.data["refresh_token"] = token
    event.data["details"] = {"client_secret": WEBHOOK_SECRET, "note": f"key={token}"}
    with alice.leap.db.session() as session:
        notify(session, alice.user_id, event)
    [shown] = alice.notifications.list()
    everything = json.dumps(shown, default=str)
    assert token not in everything and WEBHOOK_SECRET not in everything
    assert "[redacted]" in shown["body"]
