"""The webhook channel against a receiver on 127.0.0.1 that fails before it succeeds."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from leap_core.api import UserAPI
from leap_core.db.models import User
from leap_core.db.types import utcnow
from leap_core.notifications import notify, stage_failed
from leap_core.notifications.outbox import drain
from leap_core.notifications.webhook import SIGNATURE_HEADER, verify
from tests.core.notifications.conftest import WEBHOOK_SECRET, add_webhook
from tests.fakes.http_server import FakeHTTPServer, Response

HOOK = "/hooks/leap"


def fail_once(api: UserAPI) -> str:
    with api.leap.db.session() as session:
        stored = notify(session, api.user_id, stage_failed("rec1", "Lecture 1", "trim", "no audio stream", 1))
    assert stored is not None
    return stored.id


def delivery(api: UserAPI) -> dict[str, Any]:
    [row] = api.notifications.deliveries()
    return row


def drain_at(api: UserAPI, now: datetime) -> None:
    drain(api.leap.db, api.leap.settings, now=now)


def test_a_failing_endpoint_is_retried_with_growing_backoff_until_it_accepts(
    alice: UserAPI, receiver: FakeHTTPServer
) -> None:
    add_webhook(alice, receiver, ["processing.failed"])
    receiver.enqueue("POST", HOOK, Response(status=500), Response(status=503))
    receiver.route("POST", HOOK, Response(status=204))
    notification_id = fail_once(alice)
    t0 = utcnow()

    drain_at(alice, t0)
    first = delivery(alice)
    assert (first["status"], first["attempts"], first["last_error"]) == (
        "pending", 1, "the webhook endpoint answered HTTP 500")
    assert t0 + timedelta(seconds=15) <= first["next_attempt_at"] <= t0 + timedelta(seconds=30)

    drain_at(alice, first["next_attempt_at"] - timedelta(seconds=1))
    assert len(receiver.requests) == 1, "not due yet: nothing is sent before the backoff ends"

    drain_at(alice, first["next_attempt_at"])
    second = delivery(alice)
    assert (second["status"], second["attempts"]) == ("pending", 2)
    wait = second["next_attempt_at"] - first["next_attempt_at"]
    assert timedelta(seconds=30) <= wait <= timedelta(seconds=60)

    drain_at(alice, second["next_attempt_at"])
    assert (delivery(alice)["status"], delivery(alice)["attempts"], delivery(alice)["last_error"]) == ("sent", 3, None)

    drain_at(alice, second["next_attempt_at"] + timedelta(days=1))
    requests = receiver.requests_to("POST", HOOK)
    assert len(requests) == 3, "no duplicate after success"
    assert len({r.body for r in requests}) == 1, "every retry sends the same bytes"
    for request in requests:
        assert verify(WEBHOOK_SECRET, request.body, request.header(SIGNATURE_HEADER) or "")
        assert request.header("X-Leap-Delivery") == notification_id
    payload = requests[0].json()
    assert set(payload) == {"type", "id", "timestamp", "data"}
    assert payload["type"] == "processing.failed" and payload["id"] == notification_id
    assert payload["data"]["stage"] == "trim" and payload["data"]["reason"] == "no audio stream"
    assert datetime.fromisoformat(payload["timestamp"]) <= t0


def test_a_signature_made_with_another_secret_does_not_verify(alice: UserAPI, receiver: FakeHTTPServer) -> None:
    add_webhook(alice, receiver, ["processing.failed"])
    receiver.route("POST", HOOK, Response(status=200))
    fail_once(alice)
    drain_at(alice, utcnow())
    [request] = receiver.requests
    assert not verify("another-secret-of-some-length", request.body, request.header(SIGNATURE_HEADER) or "")
    assert not verify(WEBHOOK_SECRET, request.body + b" ", request.header(SIGNATURE_HEADER) or "")


def test_an_endpoint_that_refuses_for_good_is_not_retried(alice: UserAPI, receiver: FakeHTTPServer) -> None:
    add_webhook(alice, receiver, ["processing.failed"])
    receiver.route("POST", HOOK, Response(status=410))
    fail_once(alice)
    drain_at(alice, utcnow())
    drain_at(alice, utcnow() + timedelta(days=1))
    assert len(receiver.requests) == 1
    assert (delivery(alice)["status"], delivery(alice)["last_error"]) == (
        "failed", "the webhook endpoint answered HTTP 410")


def test_attempts_are_capped(alice: UserAPI, receiver: FakeHTTPServer) -> None:
    add_webhook(alice, receiver, ["processing.failed"])
    receiver.route("POST", HOOK, Response(status=502))
    fail_once(alice)
    now = utcnow()
    for _ in range(alice.leap.settings.notify_max_attempts + 2):
        drain_at(alice, now)
        now += timedelta(days=1)
    assert len(receiver.requests) == alice.leap.settings.notify_max_attempts
    assert (delivery(alice)["status"], delivery(alice)["attempts"]) == ("failed", 4)


def test_the_webhook_secret_is_stored_encrypted_and_never_shown(alice: UserAPI, receiver: FakeHTTPServer) -> None:
    add_webhook(alice, receiver, ["processing.failed"])
    receiver.route("POST", HOOK, Response(status=200))
    fail_once(alice)
    drain_at(alice, utcnow())
    with alice.leap.db.session() as session:
        stored = session.scalar(select(User.preferences).where(User.id == alice.user_id))
    shown = alice.notifications.preferences()
    assert shown["webhook"] == {"url": f"{receiver.url}{HOOK}", "secret": "…hush"[:1] + WEBHOOK_SECRET[-4:]}
    for text in (json.dumps(stored), json.dumps(shown), receiver.requests[0].body.decode(),
                 json.dumps(alice.notifications.list(), default=str), json.dumps(alice.activity(), default=str)):
        assert WEBHOOK_SECRET not in text


def test_a_named_host_is_posted_to_the_address_that_was_checked_with_its_name_as_host(
    alice: UserAPI, receiver: FakeHTTPServer
) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    alice.notifications.set_preferences(webhook_url=f"http://localhost:{port}{HOOK}", webhook_secret=WEBHOOK_SECRET,
                                        events={"processing.failed": ["webhook"]})
    receiver.route("POST", HOOK, Response(status=204))
    fail_once(alice)
    drain_at(alice, utcnow())
    assert delivery(alice)["status"] == "sent"
    (request,) = [r for r in receiver.requests if r.path == HOOK]
    assert request.header("host") == f"localhost:{port}"


def test_a_saved_webhook_whose_network_is_no_longer_allowed_fails_permanently(
    alice: UserAPI, receiver: FakeHTTPServer
) -> None:
    add_webhook(alice, receiver, ["processing.failed"])
    alice.leap.settings.webhook_allowed_networks = ""  # the admin withdrew loopback after it was saved
    fail_once(alice)
    drain_at(alice, utcnow())
    row = delivery(alice)
    assert row["status"] == "failed" and "is loopback: refused" in row["last_error"]
    assert receiver.requests == []
