"""What LEAP tells a user about, and `notify`, which stores it once and queues its deliveries.

An event is built by one small constructor per kind, so every caller says the same thing the same way
and derives the same idempotency key: the key names the occurrence (this failure of this stage row,
this quota in this period), so writing the event again from a retried transaction, a second sensor
tick or a re-run is a no-op rather than a second email.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core.audit import scrub
from leap_core.db.conflicts import insert_or_skip
from leap_core.db.models import Notification, NotificationDelivery, Recording, User
from leap_core.db.types import new_ulid, utcnow
from leap_core.notifications.kinds import Channel, EventType
from leap_core.notifications.preferences import channels_for
from leap_core.states import RecordingStatus

UploadReason = Literal["quota", "auth", "network", "other"]
QUOTA_LEVELS = (100, 80)
"""Percent thresholds, highest first: usage that jumps past both reports only the higher one."""
QUOTA_LABELS = {"max_recordings_per_month": "Monthly recordings", "max_storage_gb": "Storage",
                "max_automation_jobs": "Automation jobs", "min_automation_interval_hours": "Automation interval"}


@dataclass(frozen=True)
class Event:
    type: EventType
    key: str
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)


_SECRET_IN_TEXT = re.compile(
    r"(?i)\b((?:access_|refresh_|id_)?token|secret|client_secret|password|api[_-]?key|key|signature|sig)"
    r"(\s*[=:]\s*[\"']?)[^\s&\"',;]+"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")


def redact_text(text: str) -> str:
    """Error messages come from platforms and libraries; strip credentials a URL or header put in them."""
    return _BEARER.sub(r"\1 [redacted]", _SECRET_IN_TEXT.sub(r"\1\2[redacted]", text))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in scrub(value).items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


# constructors, one per kind of event -------------------------------------------------------------
def stage_failed(recording_id: str, title: str, stage: str, reason: str, attempt: str | int) -> Event:
    """`attempt` names this failure (a processing_stages row id or a run id): a later retry that fails
    again is a new occurrence and is reported again."""
    kind = EventType.TRANSCRIPTION_FAILED if stage == "transcribe" else EventType.PROCESSING_FAILED
    what = "Transcription" if kind is EventType.TRANSCRIPTION_FAILED else f"Processing ({stage})"
    return Event(kind, f"{kind}:{recording_id}:{attempt}", f"{what} failed: {title}", reason,
                 {"recording_id": recording_id, "stage": stage, "reason": reason})


def upload_reason(message: str) -> UploadReason:
    """Classify a target's failure message (written by leap_core.publishing's typed errors)."""
    lowered = message.lower()
    if "credentials" in lowered or "reconnect" in lowered or "unauthori" in lowered:
        return "auth"
    if "quota" in lowered or "limit" in lowered or "flood" in lowered or "retry after" in lowered:
        return "quota"
    if any(word in lowered for word in ("timed out", "timeout", "connect", "network", "unreachable")):
        return "network"
    return "other"


def upload_failed(recording_id: str, title: str, platform: str, message: str, attempt: str | int) -> Event:
    reason = upload_reason(message)
    action = {"auth": "reconnect", "quota": "wait", "network": "retry"}.get(reason, "retry")
    body = f"{message}\nWhat to do: reconnect your {platform} account." if reason == "auth" else message
    return Event(EventType.UPLOAD_FAILED, f"{EventType.UPLOAD_FAILED}:{recording_id}:{platform}:{attempt}",
                 f"Upload to {platform} failed: {title}", body,
                 {"recording_id": recording_id, "platform": platform, "reason": reason, "action": action,
                  "message": message})


def upload_waiting(recording_id: str, title: str, platform: str, until: datetime, reason: str,
                   series: str | int) -> Event:
    """A parked target: told once per parking `series` (re-parks of the automatic re-tries say nothing new);
    "upload failed" comes only if LEAP gives up."""
    when = until.isoformat(timespec="minutes")
    return Event(EventType.UPLOAD_WAITING, f"{EventType.UPLOAD_WAITING}:{recording_id}:{platform}:{series}",
                 f"Waiting for {platform} quota until {when}: {title}",
                 f"{reason}\nLEAP uploads it by itself after {when}; nothing to do.",
                 {"recording_id": recording_id, "platform": platform, "retry_after": when, "reason": "quota",
                  "action": "wait", "message": reason})


def recording_skipped(recording_id: str, title: str, stage: str, reason: str, detail: str | None) -> Event:
    """A recording the pipeline set aside (judged blank): not an error, but the owner decides whether the
    lecture is lost, so it is told why (a microphone on a track LEAP did not hear would show here)."""
    because = f"{reason}: {detail}" if detail else reason
    return Event(EventType.RECORDING_SKIPPED, f"{EventType.RECORDING_SKIPPED}:{recording_id}:{stage}",
                 f"Skipped ({stage}): {title}", f"LEAP did not process this recording further: {because}.",
                 {"recording_id": recording_id, "stage": stage, "reason": reason, "detail": detail})


def recording_published(recording_id: str, title: str, platform: str, video_id: str, url: str | None) -> Event:
    return Event(EventType.RECORDING_PUBLISHED, f"{EventType.RECORDING_PUBLISHED}:{recording_id}:{platform}:{video_id}",
                 f"Published on {platform}: {title}", url or f"{platform} video {video_id}",
                 {"recording_id": recording_id, "platform": platform, "video_id": video_id, "url": url})


def automation_finished(job_id: str, job_name: str, run_id: str | int, failed: bool,
                        summary: Mapping[str, Any]) -> Event:
    kind = EventType.AUTOMATION_FAILED if failed else EventType.AUTOMATION_COMPLETED
    counts = ", ".join(f"{k}: {v}" for k, v in summary.items() if isinstance(v, int | float | str))
    return Event(kind, f"{kind}:{job_id}:{run_id}",
                 f"Automation job {job_name!r} {'failed' if failed else 'completed'}", counts,
                 {"job_id": job_id, "job_name": job_name, "run_id": run_id, "summary": dict(summary)})


def quota_warning_event(user_id: str, quota: str, used: float, limit: float | None, period: str) -> Event | None:
    """The 80% or 100% event for a quota in a period, or None below 80% or when unlimited.

    The key holds quota, period and level, so each threshold is reported once per period however often
    usage is re-checked; the next period starts fresh.
    """
    if limit is None or limit <= 0:
        return None
    percent = 100 * used / limit
    level = next((lv for lv in QUOTA_LEVELS if percent >= lv), None)
    if level is None:
        return None
    kind = EventType.QUOTA_REACHED if level == 100 else EventType.QUOTA_WARNING
    label = QUOTA_LABELS.get(quota, quota)
    title = f"{label} quota {'reached' if level == 100 else 'at 80%'} for {period}"
    return Event(kind, f"{kind}:{user_id}:{quota}:{period}:{level}", title,
                 f"{used:g} used of {limit:g} ({percent:.0f}%).",
                 {"quota": quota, "used": used, "limit": limit, "period": period, "level": level})


def quota_refused(user_id: str, quota: str, limit: float, current: float, reason: str, day: str) -> Event:
    """An action the quota refused (one more automation job, a too-frequent schedule): the owner is told
    why, at most once a day per quota, so a script retrying in a loop does not flood the inbox."""
    label = QUOTA_LABELS.get(quota, quota)
    return Event(EventType.QUOTA_REACHED, f"{EventType.QUOTA_REACHED}:{user_id}:{quota}:refused:{day}",
                 f"{label} quota refused an action", reason,
                 {"quota": quota, "limit": limit, "current": current, "reason": reason, "day": day})


def storage_overage(user_id: str, used_gb: float, limit_gb: float, day: str) -> Event:
    """Storage grows past the check made at registration; reported at most once a day while it lasts."""
    return Event(EventType.STORAGE_OVERAGE, f"{EventType.STORAGE_OVERAGE}:{user_id}:{day}",
                 "Storage over its limit", f"{used_gb:.2f} GB stored of {limit_gb:g} GB allowed.",
                 {"used_gb": used_gb, "limit_gb": limit_gb, "day": day})


def source_credential_failed(source_id: str, source_name: str, reason: str, day: str) -> Event:
    return Event(EventType.SOURCE_CREDENTIAL_FAILED, f"{EventType.SOURCE_CREDENTIAL_FAILED}:{source_id}:{day}",
                 f"Source {source_name!r} cannot sign in", f"{reason}\nWhat to do: reconnect the source.",
                 {"source_id": source_id, "source_name": source_name, "reason": reason, "action": "reconnect"})


def credential_unhealthy(credential_id: str, platform: str, name: str, problem: str, day: str,
                         expires_at: datetime | None = None) -> Event:
    """From the daily health check: a revoked or soon-dead refresh token, a wrong-type VK token."""
    return Event(EventType.CREDENTIAL_UNHEALTHY, f"{EventType.CREDENTIAL_UNHEALTHY}:{credential_id}:{day}",
                 f"{platform} account {name!r} needs attention", f"{problem}\nWhat to do: reconnect the account.",
                 {"credential_id": credential_id, "platform": platform, "name": name, "problem": problem,
                  "expires_at": expires_at.isoformat() if expires_at else None, "action": "reconnect"})


def summary(user_id: str, period: Literal["daily", "weekly"], start: datetime, end: datetime,
            counts: Mapping[str, int]) -> Event:
    lines = "\n".join(f"{name}: {count}" for name, count in counts.items())
    return Event(EventType.SUMMARY, f"{EventType.SUMMARY}:{period}:{user_id}:{end.date().isoformat()}",
                 f"Your {period} LEAP summary", lines,
                 {"period": period, "start": start.isoformat(), "end": end.isoformat(), "counts": dict(counts)})


# storing --------------------------------------------------------------------------------------------
def notify(session: Session, user_id: str, event: Event) -> Notification | None:
    """Store the event for the user and queue one delivery per chosen channel, in the caller's transaction.

    Returns None when the user chose no channel for this event or it was already stored (same key).
    The insert skips a duplicate key instead of raising, so a concurrent writer of the same event never
    fails the caller's transaction (the pipeline's state change must land whatever happens here).
    """
    user = session.get(User, user_id)
    if user is None:
        return None
    channels = channels_for(user, event.type)
    if not channels:
        return None
    now = utcnow()
    values = {
        "id": new_ulid(), "user_id": user_id, "event_type": str(event.type), "idempotency_key": event.key[:200],
        "title": redact_text(event.title)[:300], "body": redact_text(event.body), "data": _clean(event.data),
        "created_at": now, "read_at": None if "in_app" in channels else now,
    }
    inserted = session.execute(insert_or_skip(session, Notification, ["idempotency_key"])
                               .values(**values).returning(Notification.id)).scalar()
    if inserted is None:
        return None
    session.add_all(NotificationDelivery(notification_id=inserted, channel=c, status="pending", attempts=0,
                                         next_attempt_at=now) for c in _outbound(channels))
    session.flush()
    return session.scalar(select(Notification).where(Notification.id == inserted))


def notify_recording_failed(session: Session, recording_id: str, attempt: str) -> Notification | None:
    """For failures recorded without their stage's code (a run that died): the stage and reason are read
    back from the FAILED recording, so the notice says what the recording row says."""
    recording = session.get(Recording, recording_id)
    if recording is None or recording.status is not RecordingStatus.FAILED:
        return None
    event = stage_failed(recording.id, recording.title, recording.failed_at_stage or "download",
                         recording.error_message or "the run failed", attempt)
    return notify(session, recording.user_id, event)


def _outbound(channels: list[Channel]) -> list[Channel]:
    return [c for c in channels if c != "in_app"]



