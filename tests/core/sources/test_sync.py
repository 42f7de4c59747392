"""Source sync through the real Zoom and Yandex Disk clients against fake platforms on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from leap_core.api import Leap, UserAPI
from leap_core.db.models import Credential, Notification, Recording, Source
from leap_core.secrets import SecretBox
from leap_core.sources.sync import register_pushed
from leap_core.sources.zoom_webhook import parse_recording_completed, signature_for, verify_signature
from leap_core.states import RecordingStatus
from tests.conftest import TEST_ACTOR
from tests.core.sources.support import assert_clean_one_liner
from tests.fakes.http_server import FakeHTTPServer
from tests.fakes.yandex import FakeYandexDisk
from tests.fakes.zoom import FakeZoom
from tests.support.queries import counted_queries

RECENTLY = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


@pytest.fixture
def connected(leap: Leap, server: FakeHTTPServer) -> Leap:
    """LEAP pointed at the fake platforms, with a secret key for the credential store."""
    leap.settings.secret_key = SecretBox.generate_key()
    leap.settings.zoom_api_url = f"{server.url}/v2"
    leap.settings.zoom_oauth_url = server.url
    leap.settings.yandex_disk_api_url = server.url
    return leap


def store_credential(api: UserAPI, platform: str, name: str, fields: dict[str, str]) -> None:
    box = SecretBox(api.leap.settings.secret_keys)
    with api.leap.db.session() as session:
        session.add(Credential(user_id=api.user_id, platform=platform, name=name, encrypted=box.encrypt(fields),
                               hint="…test"))


def zoom_credential(api: UserAPI, zoom: FakeZoom, secret: str | None = None) -> None:
    store_credential(api, "zoom", "school", {"account_id": zoom.account_id, "client_id": zoom.client_id,
                                             "client_secret": secret or zoom.client_secret})


def statuses(api: UserAPI) -> dict[str, str]:
    return {r["source_name"]: r["status"] for r in api.recordings()}


def test_a_zoom_account_syncs_completed_meetings_and_holds_processing_ones_pending(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer
) -> None:
    zoom = FakeZoom(server)
    zoom.add_meeting("Algebra 1", RECENTLY)
    processing = zoom.add_meeting("Algebra 2", RECENTLY + timedelta(hours=1), status="processing")
    zoom_credential(alice, zoom)
    alice.sources_api.add_zoom("zoom", "school")
    alice.add_template("all", targets=["local"], process_on_arrival=False)

    (first,) = alice.sources_api.sync("zoom")
    assert (first["listed"], first["registered"], first["error"]) == (2, 2, None)
    assert statuses(alice) == {"Algebra 1": "INITIALIZED", "Algebra 2": "PENDING_SOURCE"}

    for file in processing["recording_files"]:
        file["status"], file["file_size"] = "completed", 4096
    (second,) = alice.sources_api.sync("zoom")
    assert (second["registered"], second["promoted"]) == (0, 1)
    assert statuses(alice) == {"Algebra 1": "INITIALIZED", "Algebra 2": "INITIALIZED"}


def test_a_yandex_disk_folder_syncs_its_media_files_once(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer
) -> None:
    disk = FakeYandexDisk(server)
    disk.add_file("Lectures/week1.mp4", b"v" * 1000)
    disk.add_file("Lectures/notes.txt", b"not media")
    store_credential(alice, "yandex", "disk", {"token": disk.token})
    alice.sources_api.add_yandex("yadisk", "disk", "disk:/Lectures")

    assert alice.sources_api.sync("yadisk")[0]["registered"] == 1
    assert alice.sources_api.sync("yadisk")[0]["registered"] == 0
    assert list(statuses(alice)) == ["week1.mp4"]


def test_a_yandex_disk_file_overwritten_under_its_id_comes_in_again_by_its_md5(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer
) -> None:
    disk = FakeYandexDisk(server)
    item = disk.add_file("Lectures/week1.mp4", b"v" * 1000)
    store_credential(alice, "yandex", "disk", {"token": disk.token})
    alice.sources_api.add_yandex("yadisk", "disk", "disk:/Lectures")
    alice.sources_api.sync("yadisk")

    disk.contents["disk:/Lectures/week1.mp4"] = b"w" * 1000  # same size, same resource id, new md5
    item["md5"] = "0" * 32
    (summary,) = alice.sources_api.sync("yadisk")

    assert (summary["registered"], summary["changed"]) == (1, 1)
    (event,) = alice.activity(action="recording.source_changed")
    assert (event["details"]["before"], event["details"]["after"]) == (
        f"md5:{hashlib.md5(b'v' * 1000).hexdigest()}", "md5:" + "0" * 32)
    assert alice.sources_api.sync("yadisk")[0]["registered"] == 0


def test_a_source_with_a_bad_credential_is_recorded_and_audited_and_others_still_sync(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer, tmp_path: Path
) -> None:
    zoom = FakeZoom(server)
    zoom.add_meeting("Algebra 1", RECENTLY)
    zoom_credential(alice, zoom, secret="wrong-secret-value-1234")
    alice.sources_api.add_zoom("zoom", "school")
    inbox = tmp_path / "inbox"
    alice.add_local_source("inbox", inbox)
    (inbox / "talk.mp4").write_bytes(b"x" * 100)

    results = {r["source"]: r for r in alice.sources_api.sync()}
    assert results["inbox"]["registered"] == 1
    error = results["zoom"]["error"]
    assert "Zoom rejected" in error
    assert_clean_one_liner(error, zoom.client_secret, "wrong-secret-value-1234")
    zoom_row = next(s for s in alice.sources() if s["name"] == "zoom")
    assert zoom_row["last_error"] == error
    (entry,) = alice.activity(action="source.sync")
    assert (entry["result"], entry["details"]["error"]) == ("failure", error)
    with alice.leap.db.session() as session:
        (notice,) = session.scalars(select(Notification).where(Notification.user_id == alice.user_id))
        assert notice.event_type == "source.credential_failed"
        assert_clean_one_liner(notice.title, zoom.client_secret)


def test_a_missing_zoom_user_and_a_deleted_credential_are_source_errors_not_crashes(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer
) -> None:
    zoom = FakeZoom(server)
    zoom_credential(alice, zoom)
    alice.sources_api.add_zoom("ghost", "school", zoom_user="ghost@example.edu")
    alice.sources_api.add_zoom("orphan", "school")
    with alice.leap.db.session() as session:
        orphan = session.scalar(select(Source).where(Source.name == "orphan"))
        assert orphan is not None
        orphan.credential_id = None

    results = {r["source"]: r["error"] for r in alice.sources_api.sync()}
    assert "does not exist" in results["ghost"]
    assert "lacks account_id" in results["orphan"]


def test_a_sync_costs_the_same_queries_whether_ten_or_a_hundred_recordings_are_known(
    alice: UserAPI, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    alice.add_local_source("inbox", inbox)
    inbox.mkdir(exist_ok=True)

    def tick_with(known: int) -> int:
        for i in range(known):
            (inbox / f"old-{known}-{i}.mp4").write_bytes(b"o")
        alice.sources_api.sync("inbox")  # registers the old files (pending until their size is stable)
        alice.sources_api.sync("inbox")  # promotes them
        for i in range(3):
            (inbox / f"new-{known}-{i}.mp4").write_bytes(b"n")
        with counted_queries(alice.leap) as statements:
            assert alice.sources_api.sync("inbox")[0]["registered"] == 3
        return len(statements)

    few = tick_with(10)
    many = tick_with(100)
    assert few == many
    with alice.leap.db.session() as session:
        assert session.query(Recording).filter(Recording.status == RecordingStatus.INITIALIZED).count() == 110 + 3


def test_a_signed_recording_completed_webhook_registers_through_the_same_path_and_the_sync_does_not_repeat_it(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer
) -> None:
    zoom = FakeZoom(server)
    meeting = zoom.add_meeting("Algebra 1", RECENTLY)
    zoom_credential(alice, zoom)
    alice.sources_api.add_zoom("zoom", "school")
    body = json.dumps({"event": "recording.completed", "event_ts": 1,
                       "payload": {"account_id": zoom.account_id, "object": meeting}}).encode()
    now = datetime.now(UTC)
    stamp = str(int(now.timestamp()))
    headers = {"x-zm-request-timestamp": stamp, "x-zm-signature": signature_for("hook-secret", stamp, body)}

    verify_signature(headers, body, "hook-secret", now)
    with alice.leap.db.session() as session:
        source = session.scalar(select(Source).where(Source.name == "zoom"))
        assert source is not None
        pushed = register_pushed(session, TEST_ACTOR, source, parse_recording_completed(json.loads(body)))
    assert len(pushed.registered) == 1
    assert alice.sources_api.sync("zoom")[0]["registered"] == 0
    assert statuses(alice) == {"Algebra 1": "INITIALIZED"}
