"""What a Zoom webhook receiver needs: the URL-validation answer, the signature check, and event parsing.

Pure functions, so whichever receiver runs them (a small web app, a serverless function) stays a thin
shell and the checks are tested without a network. A receiver should verify the signature of *every*
request, the URL-validation challenge included, before looking at the body, answer the challenge with
`url_validation_response`, and hand `parse_recording_completed`'s files to the same registration path
the sync uses (its file ids are the ones `ZoomSource.list_files` reports, so the two deduplicate).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from leap_core.errors import LeapError, ValidationError
from leap_core.sources.base import SourceFile
from leap_core.sources.zoom import DEFAULT_PREFERRED_TYPES, select_recording

SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"
DEFAULT_TOLERANCE_S = 300.0
URL_VALIDATION_EVENT = "endpoint.url_validation"
RECORDING_COMPLETED_EVENT = "recording.completed"


class WebhookRejectedError(LeapError):
    """The request did not come from Zoom (or is a replay); the receiver answers 401 and ignores it."""


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_for(secret: str, timestamp: str, raw_body: bytes) -> str:
    """Zoom's `v0=` signature: HMAC-SHA256 of `v0:{timestamp}:{body}` keyed with the webhook secret token."""
    return "v0=" + _hmac_hex(secret, b"v0:" + timestamp.encode() + b":" + raw_body)


def verify_signature(
    headers: Mapping[str, str],
    raw_body: bytes,
    secret: str,
    now: datetime,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> None:
    """Accept only a body Zoom signed within `tolerance_s` of `now`; the window is what stops replays."""
    lowered = {name.lower(): value for name, value in headers.items()}
    signature, timestamp = lowered.get(SIGNATURE_HEADER), lowered.get(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise WebhookRejectedError(f"Zoom webhook rejected: {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} is missing")
    if not timestamp.isdigit():
        raise WebhookRejectedError(f"Zoom webhook rejected: {TIMESTAMP_HEADER} is not a Unix time")
    if not hmac.compare_digest(signature.encode(), signature_for(secret, timestamp, raw_body).encode()):
        raise WebhookRejectedError("Zoom webhook rejected: the signature does not match the body")
    skew = now.timestamp() - int(timestamp)
    if abs(skew) > tolerance_s:
        raise WebhookRejectedError(
            f"Zoom webhook rejected: signed {abs(skew):.0f} s {'ago' if skew > 0 else 'ahead'}, "
            f"outside the {tolerance_s:.0f} s window"
        )


def is_url_validation(payload: Mapping[str, Any]) -> bool:
    return payload.get("event") == URL_VALIDATION_EVENT


def url_validation_response(payload: Mapping[str, Any], secret: str) -> dict[str, str]:
    """The JSON body Zoom expects back to prove this endpoint knows the secret token."""
    inner = payload.get("payload")
    plain = inner.get("plainToken") if isinstance(inner, Mapping) else None
    if not is_url_validation(payload) or not isinstance(plain, str) or not plain:
        raise ValidationError("not a Zoom endpoint.url_validation request with a plainToken")
    return {"plainToken": plain, "encryptedToken": _hmac_hex(secret, plain.encode())}


def parse_recording_completed(
    payload: Mapping[str, Any], preferred_types: Sequence[str] = DEFAULT_PREFERRED_TYPES
) -> list[SourceFile]:
    """The file LEAP takes from the finished meeting (none if it has no usable recording).

    Zoom's `download_token` is deliberately dropped: it is a credential, and the source downloads with
    its own OAuth token anyway. The account and host ids are kept so the receiver can find the source.
    """
    inner = payload.get("payload")
    if not isinstance(inner, Mapping):
        inner = {}
    meeting = inner.get("object")
    if payload.get("event") != RECORDING_COMPLETED_EVENT or not isinstance(meeting, Mapping):
        raise ValidationError(f"not a Zoom {RECORDING_COMPLETED_EVENT} event with a meeting object")
    file = select_recording(meeting, preferred_types)
    if file is None:
        return []
    routing = {"account_id": str(inner.get("account_id", "")), "host_id": str(meeting.get("host_id", ""))}
    return [dataclasses.replace(file, extra={**file.extra, **routing})]
