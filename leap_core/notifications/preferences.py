"""Per-user notification preferences, kept in `users.preferences["notifications"]`.

Only what the user changed is stored; everything else falls back to the defaults (failures, quota and
credential warnings in the app and by email, good news in the app only, no summary). The webhook secret is stored
Fernet-encrypted with the credential keys and is never shown back: views carry only its redacted tail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from leap_core.db.models import User
from leap_core.errors import ValidationError
from leap_core.notifications.addresses import Network, check_webhook_url
from leap_core.notifications.kinds import CHANNELS, QUIET, Channel, EventType
from leap_core.secrets import SecretBox, redact

SummaryPeriod = Literal["off", "daily", "weekly"]
SUMMARY_PERIODS: tuple[SummaryPeriod, ...] = ("off", "daily", "weekly")
EVENT_TYPES = tuple(t.value for t in EventType)

_KEY = "notifications"
SECRET_LIMIT = 1024


def default_channels(event_type: str) -> list[Channel]:
    return ["in_app"] if event_type in QUIET else ["in_app", "email"]


def stored(user: User) -> dict[str, Any]:
    return dict((user.preferences or {}).get(_KEY) or {})


def email_address(user: User) -> str | None:
    return cast(str | None, stored(user).get("email") or user.email)


def webhook_url(user: User) -> str | None:
    return cast(str | None, (stored(user).get("webhook") or {}).get("url"))


def webhook_secret(user: User, box: SecretBox) -> str | None:
    hook = stored(user).get("webhook") or {}
    return box.decrypt(hook["secret"].encode("ascii"))["secret"] if hook.get("secret") else None


def summary_period(user: User) -> SummaryPeriod:
    return cast(SummaryPeriod, stored(user).get("summary") or "off")


def chosen_channels(user: User, event_type: str) -> list[Channel]:
    """The user's choice for an event type, before checking that each channel can be reached."""
    if event_type == EventType.SUMMARY and summary_period(user) == "off":
        return []
    return _choice(user, event_type)


def _choice(user: User, event_type: str) -> list[Channel]:
    events = stored(user).get("events") or {}
    return list(events[event_type]) if event_type in events else default_channels(event_type)


def channels_for(user: User, event_type: str) -> list[Channel]:
    """Chosen channels that have somewhere to go: email needs an address, webhook a URL."""
    reachable = {"in_app": True, "email": email_address(user) is not None, "webhook": webhook_url(user) is not None}
    return [c for c in chosen_channels(user, event_type) if reachable[c]]


def view(user: User) -> dict[str, Any]:
    """Preferences as the user sees them: every event with its channels, the secret only as a hint."""
    hook = stored(user).get("webhook")
    return {
        "events": {t: _choice(user, t) for t in EVENT_TYPES},
        "email": email_address(user),
        "webhook": {"url": hook["url"], "secret": hook.get("hint")} if hook else None,
        "summary": summary_period(user),
    }


def update(
    user: User,
    box: SecretBox | None,
    *,
    events: Mapping[str, Sequence[str]] | None = None,
    email: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    remove_webhook: bool = False,
    summary: str | None = None,
    allowed_networks: Sequence[Network] = (),
) -> dict[str, Any]:
    """Apply the given changes (None leaves a setting as it is) and return the stored preferences.

    A webhook URL must reach public addresses only, or the `allowed_networks` an admin configured.
    """
    current = stored(user)
    if events is not None:
        current["events"] = {**(current.get("events") or {}), **_checked_events(events)}
    if email is not None:
        current["email"] = _checked_email(email)
    if remove_webhook:
        current.pop("webhook", None)
    elif webhook_url is not None:
        current["webhook"] = _webhook(check_webhook_url(webhook_url, allowed_networks), webhook_secret, box)
    if summary is not None:
        if summary not in SUMMARY_PERIODS:
            raise ValidationError(f"summary must be one of {', '.join(SUMMARY_PERIODS)}, not {summary!r}")
        current["summary"] = summary
    user.preferences = {**(user.preferences or {}), _KEY: current}
    return current


def _checked_events(events: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    unknown = [t for t in events if t not in EVENT_TYPES]
    if unknown:
        raise ValidationError(f"unknown event type(s): {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    for event_type, channels in events.items():
        bad = [c for c in channels if c not in CHANNELS]
        if bad:
            raise ValidationError(f"unknown channel(s) for {event_type}: {', '.join(bad)}; "
                                  f"known: {', '.join(CHANNELS)}")
    return {t: list(dict.fromkeys(c)) for t, c in events.items()}


def _checked_email(email: str) -> str | None:
    if email == "":
        return None
    if "@" not in email or any(ch.isspace() for ch in email):
        raise ValidationError(f"not an email address: {email!r}")
    return email


def _webhook(url: str, secret: str | None, box: SecretBox | None) -> dict[str, str]:
    if not url.startswith(("https://", "http://")):
        raise ValidationError("a webhook URL must start with https:// (or http:// on a private network)")
    if not secret or len(secret) < 16:
        raise ValidationError("a webhook needs a signing secret of at least 16 characters")
    if len(secret) > SECRET_LIMIT:
        raise ValidationError(f"a webhook signing secret may be at most {SECRET_LIMIT} characters")
    if box is None:
        raise ValidationError("storing a webhook secret needs LEAP_SECRET_KEY to be set")
    return {"url": url, "secret": box.encrypt({"secret": secret}).decode("ascii"), "hint": redact(secret)}
