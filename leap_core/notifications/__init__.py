"""Notifications: events stored once per user (the in-app inbox) and delivered by email and signed webhook
through a durable outbox, according to each user's preferences.

`notify(session, user_id, event)` is the one entry point for the rest of LEAP: build the event with one of
the constructors in `events` and call it inside the transaction that made the change worth telling.
"""

from leap_core.notifications.events import (
    Event,
    automation_finished,
    credential_unhealthy,
    notify,
    notify_recording_failed,
    quota_warning_event,
    recording_published,
    recording_skipped,
    source_credential_failed,
    stage_failed,
    storage_overage,
    summary,
    upload_failed,
    upload_waiting,
)
from leap_core.notifications.kinds import CHANNELS, Channel, EventType

__all__ = [
    "CHANNELS", "Channel", "Event", "EventType", "automation_finished", "credential_unhealthy", "notify",
    "notify_recording_failed", "quota_warning_event", "recording_published", "recording_skipped",
    "source_credential_failed",
    "stage_failed", "storage_overage", "summary", "upload_failed", "upload_waiting",
]
