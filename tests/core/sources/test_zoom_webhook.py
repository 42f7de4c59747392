"""Zoom webhook checks: URL validation, x-zm-signature (good, bad, stale), recording.completed parsing.

Expected HMACs are computed here with the standard library straight from Zoom's documented recipe, not
through LEAP's helpers, so the tests pin the wire format rather than the implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leap_core.errors import ValidationError
from leap_core.sources.zoom import TokenCache, ZoomSource
from leap_core.sources.zoom_webhook import (
    WebhookRejectedError,
    is_url_validation,
    parse_recording_completed,
    url_validation_response,
    verify_signature,
)
from tests.core.sources.support import Clock, RecordedWaits, assert_clean_one_liner
from tests.fakes.http_server import FakeHTTPServer
from tests.fakes.zoom import FakeZoom

SECRET = "zoom-webhook-secret-token-DO-NOT-LEAK"
NOW = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)
BODY = b'{"event":"recording.completed","event_ts":1710504000000,"payload":{}}'


def zoom_headers(body: bytes, signed_at: datetime, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(signed_at.timestamp()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-zm-signature": f"v0={digest}", "x-zm-request-timestamp": timestamp}


def recording_completed(meeting: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": "recording.completed",
        "event_ts": 1710504000000,
        "payload": {"account_id": "acct-Zx81", "object": {**meeting, "host_id": "host-7"}},
        "download_token": "download-token-DO-NOT-LEAK",
    }


def test_a_body_zoom_signed_just_now_is_accepted() -> None:
    verify_signature(zoom_headers(BODY, NOW - timedelta(seconds=3)), BODY, SECRET, NOW)


def test_header_names_are_matched_whatever_their_case() -> None:
    headers = {name.upper(): value for name, value in zoom_headers(BODY, NOW).items()}

    verify_signature(headers, BODY, SECRET, NOW)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (zoom_headers(BODY, NOW, secret="someone-elses-secret"), "signature does not match"),
        (zoom_headers(BODY.replace(b"{}", b'{"x":1}'), NOW), "signature does not match"),
        ({"x-zm-request-timestamp": str(int(NOW.timestamp()))}, "missing"),
        ({"x-zm-signature": "v0=abc"}, "missing"),
        ({"x-zm-signature": "v0=abc", "x-zm-request-timestamp": "yesterday"}, "not a Unix time"),
    ],
    ids=["wrong secret", "tampered body", "no signature", "no timestamp", "garbled timestamp"],
)
def test_a_request_not_signed_by_zoom_is_rejected(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookRejectedError, match=reason) as raised:
        verify_signature(headers, BODY, SECRET, NOW)

    assert_clean_one_liner(str(raised.value), SECRET)


@pytest.mark.parametrize("skew", [timedelta(seconds=301), timedelta(hours=-1)], ids=["replayed", "from the future"])
def test_a_correctly_signed_request_outside_the_time_window_is_rejected(skew: timedelta) -> None:
    with pytest.raises(WebhookRejectedError, match="outside the 300 s window") as raised:
        verify_signature(zoom_headers(BODY, NOW - skew), BODY, SECRET, NOW)

    assert_clean_one_liner(str(raised.value), SECRET)


def test_the_time_window_is_configurable() -> None:
    verify_signature(zoom_headers(BODY, NOW - timedelta(seconds=500)), BODY, SECRET, NOW, tolerance_s=600)


def test_url_validation_echoes_the_plain_token_with_its_hmac() -> None:
    challenge = {"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}}
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()

    assert is_url_validation(challenge)
    assert url_validation_response(challenge, SECRET) == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": expected,
    }


@pytest.mark.parametrize(
    "challenge",
    [{"event": "endpoint.url_validation", "payload": {}}, {"event": "recording.completed", "payload": {}}],
    ids=["no plain token", "another event"],
)
def test_url_validation_of_anything_but_a_challenge_is_a_validation_error(challenge: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        url_validation_response(challenge, SECRET)


def test_recording_completed_yields_the_same_file_the_listing_reports(
    server: FakeHTTPServer, clock: Clock, waits: RecordedWaits
) -> None:
    zoom = FakeZoom(server)
    meeting = zoom.add_meeting("Linear algebra", NOW - timedelta(days=1), recording_types=("speaker_view",))
    source = ZoomSource(
        zoom.account_id, zoom.client_id, zoom.client_secret, api_url=zoom.api_url, oauth_url=zoom.oauth_url,
        token_cache=TokenCache(), retry=waits.policy(), clock=clock,
    )  # fmt: skip
    [listed] = source.list_files()

    [hooked] = parse_recording_completed(json.loads(json.dumps(recording_completed(meeting))))

    assert (hooked.file_id, hooked.name, hooked.size, hooked.complete) == (
        listed.file_id,
        listed.name,
        listed.size,
        True,
    )
    assert hooked.extra["account_id"] == "acct-Zx81"
    assert hooked.extra["host_id"] == "host-7"
    assert "download-token-DO-NOT-LEAK" not in repr(hooked)


def test_recording_completed_with_no_usable_file_yields_nothing(server: FakeHTTPServer) -> None:
    meeting = FakeZoom(server).add_meeting("Chat only", NOW, recording_types=(), audio=False)

    assert parse_recording_completed(recording_completed(meeting)) == []


def test_another_event_is_not_parsed_as_a_finished_recording() -> None:
    with pytest.raises(ValidationError, match=r"recording\.completed"):
        parse_recording_completed({"event": "meeting.started", "payload": {"object": {}}})
