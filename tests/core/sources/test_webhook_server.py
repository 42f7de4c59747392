"""The Zoom webhook receiver over real HTTP: uvicorn serving the app, httpx posting as Zoom would.

Signed, replayed, stale, forged, oversized and cross-tenant requests; URL validation; the sync and the
push registering one recording between them, in either order and racing each other. Signatures are
computed here from Zoom's documented recipe (HMAC-SHA256 of `v0:{timestamp}:{body}`), not through
LEAP's helpers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from leap_core.api import Leap, UserAPI
from leap_core.db.models import AuditLog, Recording, Source
from leap_core.sources.webhook_app import create_app
from tests.core.sources.support import between_check_and_insert
from tests.core.sources.test_sync import RECENTLY, connected, store_credential  # noqa: F401 (fixture)
from tests.fakes.http_server import FakeHTTPServer
from tests.fakes.zoom import FakeZoom
from tests.support.admins import make_admin
from tests.support.services import free_port

HOOK_SECRET = "zoom-hook-secret-DO-NOT-LEAK"


def sign(body: bytes, at: datetime | None = None, secret: str = HOOK_SECRET) -> dict[str, str]:
    stamp = str(int((at or datetime.now(UTC)).timestamp()))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-zm-request-timestamp": stamp, "x-zm-signature": f"v0={digest}", "content-type": "application/json"}


@pytest.fixture
def receiver(connected: Leap) -> Iterator[str]:  # noqa: F811 (the fixture imported above)
    """The app on a free port in a background thread, as `leap webhooks serve` runs it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(connected.db, connected.settings), host="127.0.0.1",
                                           port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the webhook receiver did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def zoom_source(api: UserAPI, zoom: FakeZoom, name: str = "zoom", hook_secret: str | None = HOOK_SECRET) -> str:
    fields = {"account_id": zoom.account_id, "client_id": zoom.client_id, "client_secret": zoom.client_secret}
    if hook_secret:
        fields["webhook_secret_token"] = hook_secret
    store_credential(api, "zoom", f"cred-{name}", fields)
    return str(api.sources_api.add_zoom(name, f"cred-{name}")["id"])


def completed(zoom: FakeZoom, meeting: dict[str, Any], account: str | None = None) -> bytes:
    return json.dumps({"event": "recording.completed", "event_ts": int(time.time() * 1000),
                       "payload": {"account_id": account or zoom.account_id, "object": meeting}}).encode()


def recordings_of(leap: Leap, user_id: str) -> int:
    with leap.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Recording).where(Recording.user_id == user_id))
                   or 0)


def one_meeting(api: UserAPI, server: FakeHTTPServer, name: str = "zoom") -> tuple[str, bytes]:
    """A Zoom source of `api`'s with one finished meeting: the source id and its `recording.completed` body."""
    zoom = FakeZoom(server)
    meeting = zoom.add_meeting("Algebra 1", RECENTLY)
    return zoom_source(api, zoom, name), completed(zoom, meeting)


def deliver(receiver: str, source_id: str, body: bytes) -> httpx.Response:
    """One signed delivery, as Zoom posts it."""
    return httpx.post(f"{receiver}/zoom/{source_id}", content=body, headers=sign(body))


def test_a_signed_recording_completed_registers_once_and_the_sync_does_not_repeat_it(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer, receiver: str  # noqa: F811
) -> None:
    source_id, body = one_meeting(alice, server)

    first = deliver(receiver, source_id, body)
    again = httpx.post(f"{receiver}/zoom/{source_id}", content=body, headers=sign(body, datetime.now(UTC)
                                                                                    + timedelta(seconds=1)))

    assert first.status_code == 200 and first.json()["status"] == "registered"
    assert again.status_code == 200 and again.json()["status"] == "duplicate"  # Zoom's retry of the same event
    assert alice.sources_api.sync("zoom")[0]["registered"] == 0
    assert [r["status"] for r in alice.recordings()] == ["INITIALIZED"]
    with connected.db.session() as session:
        origins = set(session.scalars(select(AuditLog.origin).where(AuditLog.action == "recording.create")))
    assert origins == {"webhook"}


def registered_once(leap: Leap, api: UserAPI) -> str:
    """The one recording of `api`'s user, counted once against the quota and audited once: its origin."""
    assert recordings_of(leap, api.user_id) == 1
    assert api.usage()["recordings_count"] == 1  # the loser of a race gives its reservation back
    (created,) = api.activity(action="recording.create")
    return str(created["origin"])


def test_a_push_for_a_file_the_sync_already_registered_answers_200_and_registers_nothing(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer, receiver: str  # noqa: F811
) -> None:
    source_id, body = one_meeting(alice, server)
    assert alice.sources_api.sync("zoom")[0]["registered"] == 1

    answer = deliver(receiver, source_id, body)

    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["registered"]) == ("duplicate", 0)
    assert registered_once(connected, alice) == "api"  # the sync's (run through the API here)


def test_a_push_landing_between_the_syncs_check_and_insert_registers_once_and_the_tick_carries_on(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer, receiver: str, tmp_path: Path  # noqa: F811
) -> None:
    source_id, body = one_meeting(alice, server, "campus-zoom")
    inbox = tmp_path / "inbox"  # listed after the Zoom source in the same tick (sources go by name)
    alice.add_local_source("inbox", inbox)
    (inbox / "talk.mp4").write_bytes(b"x" * 100)
    answers: list[httpx.Response] = []

    def push() -> None:
        answers.append(deliver(receiver, source_id, body))

    with between_check_and_insert(connected.db.engine, push) as race:
        summaries = {s["source"]: s for s in alice.sources_api.sync()}

    assert race.ran and not race.errors
    assert answers[0].status_code == 200 and answers[0].json()["status"] == "registered"
    zoom_summary = summaries["campus-zoom"]
    assert (zoom_summary["registered"], zoom_summary["error"]) == (0, None)  # it lost: already known
    assert (summaries["inbox"]["registered"], summaries["inbox"]["error"]) == (1, None)
    assert recordings_of(connected, alice.user_id) == 2
    assert alice.usage()["recordings_count"] == 2
    zoom_created = [a for a in alice.activity(action="recording.create") if a["details"]["source"] == "campus-zoom"]
    assert [a["origin"] for a in zoom_created] == ["webhook"]
    assert next(s for s in alice.sources() if s["name"] == "campus-zoom")["last_error"] is None


def test_a_sync_landing_between_the_pushs_check_and_insert_leaves_the_push_a_200_duplicate(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer, receiver: str  # noqa: F811
) -> None:
    source_id, body = one_meeting(alice, server)
    synced: list[dict[str, Any]] = []

    with between_check_and_insert(connected.db.engine, lambda: synced.extend(alice.sources_api.sync("zoom"))) as race:
        answer = deliver(receiver, source_id, body)

    assert race.ran and not race.errors
    assert (synced[0]["registered"], synced[0]["error"]) == (1, None)
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["registered"]) == ("duplicate", 0)
    assert registered_once(connected, alice) == "api"


def test_an_exact_replay_inside_the_window_is_answered_and_not_applied(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer, receiver: str  # noqa: F811
) -> None:
    zoom = FakeZoom(server)
    source_id = zoom_source(alice, zoom)
    body = completed(zoom, zoom.add_meeting("Algebra 2", RECENTLY))
    headers = sign(body)

    answers = [httpx.post(f"{receiver}/zoom/{source_id}", content=body, headers=headers) for _ in range(3)]

    assert [a.json()["status"] for a in answers] == ["registered", "duplicate", "duplicate"]
    assert recordings_of(connected, alice.user_id) == 1


@pytest.mark.parametrize("case", ["stale", "future", "forged", "wrong_secret", "unsigned", "bad_timestamp"])
def test_requests_zoom_did_not_sign_just_now_are_refused_with_401_and_register_nothing(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer, receiver: str, case: str  # noqa: F811
) -> None:
    zoom = FakeZoom(server)
    source_id = zoom_source(alice, zoom)
    body = completed(zoom, zoom.add_meeting("Algebra 3", RECENTLY))
    now = datetime.now(UTC)
    headers = {
        "stale": sign(body, now - timedelta(minutes=10)),
        "future": sign(body, now + timedelta(minutes=10)),
        "forged": {**sign(body), "x-zm-signature": "v0=" + "0" * 64},
        "wrong_secret": sign(body, secret="guessed"),
        "unsigned": {"content-type": "application/json"},
        "bad_timestamp": {**sign(body), "x-zm-request-timestamp": "yesterday"},
    }[case]

    answer = httpx.post(f"{receiver}/zoom/{source_id}", content=body, headers=headers)

    assert answer.status_code == 401
    assert HOOK_SECRET not in answer.text
    assert recordings_of(connected, alice.user_id) == 0


def test_a_body_changed_after_signing_is_refused(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer, receiver: str  # noqa: F811
) -> None:
    zoom = FakeZoom(server)
    source_id = zoom_source(alice, zoom)
    body = completed(zoom, zoom.add_meeting("Algebra 4", RECENTLY))
    tampered = body.replace(b"Algebra 4", b"Algebra 5")

    answer = httpx.post(f"{receiver}/zoom/{source_id}", content=tampered, headers=sign(body))

    assert answer.status_code == 401
    assert recordings_of(connected, alice.user_id) == 0


def test_url_validation_is_answered_only_when_signed(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer, receiver: str  # noqa: F811
) -> None:
    source_id = zoom_source(alice, FakeZoom(server))
    body = json.dumps({"event": "endpoint.url_validation", "payload": {"plainToken": "plain-123"}}).encode()

    good = httpx.post(f"{receiver}/zoom/{source_id}", content=body, headers=sign(body))
    unsigned = httpx.post(f"{receiver}/zoom/{source_id}", content=body)

    expected = hmac.new(HOOK_SECRET.encode(), b"plain-123", hashlib.sha256).hexdigest()
    assert good.status_code == 200
    assert good.json() == {"plainToken": "plain-123", "encryptedToken": expected}
    assert unsigned.status_code == 401


def test_one_tenants_zoom_app_cannot_register_into_another_tenants_source(
    connected: Leap, alice: UserAPI, bob: UserAPI, server: FakeHTTPServer, receiver: str  # noqa: F811
) -> None:
    zoom = FakeZoom(server)
    alice_source = zoom_source(alice, zoom, "alice-zoom", hook_secret="alice-secret-token")
    zoom_source(bob, zoom, "bob-zoom", hook_secret=HOOK_SECRET)
    body = completed(zoom, zoom.add_meeting("Bob's lecture", RECENTLY))

    # Bob's app signs with Bob's secret and posts to Alice's endpoint: refused.
    crossed = httpx.post(f"{receiver}/zoom/{alice_source}", content=body, headers=sign(body))
    # Alice's secret, but the event is another Zoom account's: refused.
    other_account = completed(zoom, zoom.add_meeting("Elsewhere", RECENTLY), account="acct-someone-else")
    foreign = httpx.post(f"{receiver}/zoom/{alice_source}", content=other_account,
                         headers=sign(other_account, secret="alice-secret-token"))

    assert crossed.status_code == 401
    assert foreign.status_code == 403
    assert recordings_of(connected, alice.user_id) == 0
    assert recordings_of(connected, bob.user_id) == 0


def test_unknown_sources_sources_without_a_secret_bad_bodies_and_other_events(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer, receiver: str  # noqa: F811
) -> None:
    zoom = FakeZoom(server)
    secretless = zoom_source(alice, zoom, "no-hook", hook_secret=None)
    source_id = zoom_source(alice, zoom)
    body = completed(zoom, zoom.add_meeting("Algebra 6", RECENTLY))
    not_json = b"<xml/>"
    started = json.dumps({"event": "meeting.started", "payload": {"account_id": zoom.account_id}}).encode()
    huge = b"{" + b" " * (2 << 20) + b"}"

    assert httpx.post(f"{receiver}/zoom/01NOSUCHSOURCE", content=body, headers=sign(body)).status_code == 404
    assert httpx.post(f"{receiver}/zoom/{secretless}", content=body, headers=sign(body)).status_code == 404
    assert httpx.post(f"{receiver}/zoom/{source_id}", content=not_json, headers=sign(not_json)).status_code == 400
    other = httpx.post(f"{receiver}/zoom/{source_id}", content=started, headers=sign(started))
    assert other.status_code == 200 and other.json()["status"] == "ignored"
    assert httpx.post(f"{receiver}/zoom/{source_id}", content=huge, headers=sign(huge)).status_code == 413
    assert httpx.get(f"{receiver}/healthz").json() == {"status": "ok"}
    assert recordings_of(connected, alice.user_id) == 0


def test_a_disabled_source_gets_no_pushes(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer, receiver: str  # noqa: F811
) -> None:
    zoom = FakeZoom(server)
    source_id = zoom_source(alice, zoom)
    with connected.db.session() as session:
        source = session.get(Source, source_id)
        assert source is not None
        source.enabled = False
    body = completed(zoom, zoom.add_meeting("Algebra 7", RECENTLY))

    assert httpx.post(f"{receiver}/zoom/{source_id}", content=body, headers=sign(body)).status_code == 404


def test_leap_webhooks_serve_runs_the_receiver_as_a_process(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer  # noqa: F811
) -> None:
    zoom = FakeZoom(server)
    source_id = zoom_source(alice, zoom)
    port = free_port()
    make_admin(connected)  # the receiver serves every user's sources: an admin runs it
    env = {**os.environ, "LEAP_DATABASE_URL": connected.settings.resolved_database_url, "LEAP_ACTOR": "root",
           "LEAP_SECRET_KEY": connected.settings.secret_key or "", "LEAP_WEBHOOKS_PORT": str(port)}
    leap_cli = [sys.executable, "-c", "from leap_core.cli import main; main()"]
    process = subprocess.Popen([*leap_cli, "webhooks", "serve"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "leap webhooks serve did not answer"
            time.sleep(0.2)
        body = completed(zoom, zoom.add_meeting("Algebra 8", RECENTLY))
        answer = httpx.post(f"http://127.0.0.1:{port}/zoom/{source_id}", content=body, headers=sign(body))
        assert answer.json()["status"] == "registered"
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert HOOK_SECRET not in output
    assert recordings_of(connected, alice.user_id) == 1
