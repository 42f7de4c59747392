"""A template's Zoom clean-up: after a verified download the cloud copy goes to Zoom's trash, never before.

The download stage runs through the core's pipeline against the fake Zoom account; the real Zoom client
sends the DELETE.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from leap_core.api import Leap, UserAPI
from leap_core.db.models import AuditLog
from leap_core.stages import DOWNLOAD
from tests.core.sources.test_sync import RECENTLY, connected, zoom_credential  # noqa: F401 (fixture)
from tests.fakes.http_server import FakeHTTPServer
from tests.fakes.zoom import FakeZoom
from tests.fixtures.media import make_lecture


def with_real_media(zoom: FakeZoom, meeting: dict[str, Any], announced: int | None = None) -> str:
    """The meeting's file holds a real lecture, announced with its true size (or `announced`)."""
    data = make_lecture().path.read_bytes()
    file = meeting["recording_files"][0]
    zoom.contents[file["id"]] = data
    file["file_size"] = len(data) if announced is None else announced
    return str(file["id"])


def zoom_template(api: UserAPI, zoom: FakeZoom, *, delete: bool) -> None:
    zoom_credential(api, zoom)
    api.sources_api.add_zoom("zoom", "school")
    api.add_template("zoom", targets=["local"], process_on_arrival=False,
                     retention={"delete_source_after_download": delete})


def download_the_one_recording(api: UserAPI) -> dict[str, object]:
    api.sources_api.sync("zoom")
    (recording,) = api.recordings()
    outcome = api.leap.pipeline.download(recording["id"])
    assert outcome.stage == DOWNLOAD.name
    return outcome.metadata


def trash_audits(leap: Leap) -> list[tuple[str, str]]:
    with leap.db.session() as session:
        return [(r.result, r.details.get("result", "")) for r in
                session.scalars(select(AuditLog).where(AuditLog.action == "source.trash_copy"))]


def test_a_verified_download_moves_the_zoom_copy_to_the_trash_and_is_audited(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer  # noqa: F811
) -> None:
    zoom = FakeZoom(server)
    file_id = with_real_media(zoom, zoom.add_meeting("Algebra 1", RECENTLY, audio=False))
    zoom_template(alice, zoom, delete=True)

    metadata = download_the_one_recording(alice)

    assert metadata["source_copy"] == {"result": "trashed"}
    assert zoom.trashed == [file_id]
    assert trash_audits(connected) == [("success", "trashed")]
    assert alice.sources_api.sync("zoom")[0]["registered"] == 0  # the trashed file never comes back as new


def test_the_zoom_copy_stays_when_the_template_does_not_ask(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer  # noqa: F811
) -> None:
    zoom = FakeZoom(server)
    with_real_media(zoom, zoom.add_meeting("Algebra 2", RECENTLY, audio=False))
    zoom_template(alice, zoom, delete=False)

    metadata = download_the_one_recording(alice)

    assert "source_copy" not in metadata and zoom.trashed == [] and trash_audits(connected) == []


def test_an_unverified_download_keeps_the_zoom_copy_and_says_why(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer  # noqa: F811
) -> None:
    zoom = FakeZoom(server)
    # Zoom announced a size the download does not match: nothing is trashed on an unverified copy.
    with_real_media(zoom, zoom.add_meeting("Algebra 3", RECENTLY, audio=False), announced=0)
    zoom_template(alice, zoom, delete=True)

    metadata = download_the_one_recording(alice)

    assert metadata["source_copy"]["result"] == "kept"  # type: ignore[index]
    assert "not verified" in metadata["source_copy"]["reason"]  # type: ignore[index]
    assert zoom.trashed == [] and trash_audits(connected) == [("failure", "kept")]


def test_a_zoom_refusal_to_trash_never_fails_the_download(
    connected: Leap, alice: UserAPI, server: FakeHTTPServer  # noqa: F811
) -> None:
    from tests.fakes.http_server import Response

    zoom = FakeZoom(server)
    with_real_media(zoom, zoom.add_meeting("Algebra 4", RECENTLY, audio=False))
    server.route("DELETE", "/v2/meetings/{uuid}/recordings/{file_id}",
                 Response.json({"code": 200, "message": "No permission."}, 403))
    zoom_template(alice, zoom, delete=True)

    metadata = download_the_one_recording(alice)

    assert metadata["source_copy"]["result"] == "kept"  # type: ignore[index]
    assert alice.recordings()[0]["status"] == "DOWNLOADED"
    assert "zoom-access-token" not in str(metadata)
