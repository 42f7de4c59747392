"""ZoomSource against a fake Zoom account on 127.0.0.1, through the real httpx client."""

from __future__ import annotations

import logging
import re
import socket
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from leap_core.errors import StageError
from leap_core.sources.base import SourceFile
from leap_core.sources.http import SourceAuthError, SourceError, SourceUnavailableError
from leap_core.sources.zoom import (
    TokenCache,
    ZoomSource,
    encode_meeting_uuid,
    month_windows,
)
from tests.core.sources.support import Clock, RecordedWaits, assert_clean_one_liner, assert_not_logged
from tests.fakes.http_server import FakeHTTPServer, Response
from tests.fakes.zoom import FakeZoom

LISTING = "/v2/users/{user_id}/recordings"


@pytest.fixture
def zoom(server: FakeHTTPServer) -> FakeZoom:
    return FakeZoom(server)


def make_source(zoom: FakeZoom, clock: Clock, waits: RecordedWaits, **overrides: object) -> ZoomSource:
    options: dict[str, object] = {
        "api_url": zoom.api_url,
        "oauth_url": zoom.oauth_url,
        "token_cache": TokenCache(),
        "retry": waits.policy(),
        "clock": clock,
        **overrides,
    }
    return ZoomSource(zoom.account_id, zoom.client_id, zoom.client_secret, **options)  # type: ignore[arg-type]


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def secrets_of(zoom: FakeZoom) -> tuple[str, ...]:
    return (zoom.client_secret, *zoom.issued_tokens)


def test_month_windows_cover_the_range_without_crossing_a_month() -> None:
    assert list(month_windows(date(2024, 1, 15), date(2024, 3, 15))) == [
        (date(2024, 1, 15), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 15)),
    ]
    assert list(month_windows(date(2024, 12, 31), date(2025, 1, 1))) == [
        (date(2024, 12, 31), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2025, 1, 1)),
    ]


@pytest.mark.parametrize(
    ("uuid", "encoded"),
    [
        ("4444AAAiAAAAAiAiAiiAii==", "4444AAAiAAAAAiAiAiiAii%3D%3D"),
        ("/ajXp112QmuoKj4854875==", "%252FajXp112QmuoKj4854875%253D%253D"),
        ("ab//cd==", "ab%252F%252Fcd%253D%253D"),
    ],
)
def test_meeting_uuids_are_double_encoded_only_when_they_start_with_or_hold_a_double_slash(
    uuid: str, encoded: str
) -> None:
    assert encode_meeting_uuid(uuid) == encoded


def test_lists_every_meeting_across_pages_and_month_windows(
    zoom: FakeZoom, server: FakeHTTPServer, clock: Clock, waits: RecordedWaits
) -> None:
    zoom.page_size_cap = 2
    zoom.add_meeting("Too old", at("2024-01-10"))
    expected = [
        zoom.add_meeting("January A", at("2024-01-20")),
        zoom.add_meeting("January B", at("2024-01-31", 23)),
        *(zoom.add_meeting(f"February {n}", at(f"2024-02-{n:02d}")) for n in (1, 14, 29)),
        zoom.add_meeting("March", at("2024-03-15")),
    ]

    files = list(make_source(zoom, clock, waits, lookback_days=60).list_files())

    assert [f.name for f in files] == [m["topic"] for m in expected]
    assert len({f.file_id for f in files}) == len(files)
    calls = server.requests_to("GET", LISTING)
    assert [(r.arg("from"), r.arg("to")) for r in calls] == [
        ("2024-01-15", "2024-01-31"),
        ("2024-02-01", "2024-02-29"),
        ("2024-02-01", "2024-02-29"),
        ("2024-03-01", "2024-03-15"),
    ]
    assert [r.arg("next_page_token") for r in calls] == [None, None, "2", None]
    assert {r.params["user_id"] for r in calls} == {"me"}


def test_a_listed_file_carries_zooms_file_id_size_time_and_duration(
    zoom: FakeZoom, clock: Clock, waits: RecordedWaits
) -> None:
    meeting = zoom.add_meeting("Linear algebra", at("2024-03-04"), size=5000)

    [file] = make_source(zoom, clock, waits).list_files()

    assert file.file_id == "file-1-shared_screen_with_speaker_view"
    assert file.name == "Linear algebra"
    assert file.size == 5000
    assert file.recorded_at == at("2024-03-04")
    assert file.duration_s == 45 * 60
    assert file.complete is True
    assert file.extension == "mp4"
    assert file.extra["meeting_uuid"] == meeting["uuid"]


def test_takes_the_first_preferred_recording_type_present(zoom: FakeZoom, clock: Clock, waits: RecordedWaits) -> None:
    zoom.add_meeting("Seminar", at("2024-03-04"), recording_types=("gallery_view", "speaker_view"))

    [default] = make_source(zoom, clock, waits).list_files()
    [chosen] = make_source(zoom, clock, waits, preferred_types=("gallery_view",)).list_files()

    assert default.extra["recording_type"] == "speaker_view"
    assert chosen.extra["recording_type"] == "gallery_view"


def test_falls_back_to_m4a_audio_when_no_preferred_video_exists(
    zoom: FakeZoom, clock: Clock, waits: RecordedWaits
) -> None:
    zoom.add_meeting("Phone-in", at("2024-03-04"), recording_types=("gallery_view",))
    zoom.add_meeting("No audio either", at("2024-03-05"), recording_types=("gallery_view",), audio=False)

    files = list(make_source(zoom, clock, waits, preferred_types=("speaker_view",)).list_files())

    assert [(f.name, f.extension, f.extra["recording_type"]) for f in files] == [("Phone-in", "m4a", "audio_only")]


def test_recordings_zoom_is_still_processing_are_listed_as_incomplete(
    zoom: FakeZoom, clock: Clock, waits: RecordedWaits
) -> None:
    zoom.add_meeting("Just ended", at("2024-03-15"), status="processing")

    [file] = make_source(zoom, clock, waits).list_files()

    assert file.complete is False
    assert file.size is None


def test_one_token_serves_listings_until_shortly_before_its_hour_is_up(
    zoom: FakeZoom, clock: Clock, waits: RecordedWaits
) -> None:
    zoom.add_meeting("Lecture", at("2024-03-04"))
    cache = TokenCache()
    first = make_source(zoom, clock, waits, token_cache=cache)
    second = make_source(zoom, clock, waits, token_cache=cache)

    list(first.list_files())
    list(second.list_files())
    clock.advance(timedelta(minutes=50))
    list(first.list_files())
    assert len(zoom.issued_tokens) == 1

    clock.advance(timedelta(minutes=6))
    list(first.list_files())
    assert len(zoom.issued_tokens) == 2


def test_a_token_zoom_rejects_is_replaced_and_the_call_repeated(
    zoom: FakeZoom, server: FakeHTTPServer, clock: Clock, waits: RecordedWaits
) -> None:
    zoom.add_meeting("Lecture", at("2024-03-14"))
    source = make_source(zoom, clock, waits, lookback_days=5)
    list(source.list_files())
    zoom.expire_tokens()

    files = list(source.list_files())

    assert [f.name for f in files] == ["Lecture"]
    assert len(zoom.issued_tokens) == 2
    statuses = [r.header("authorization") for r in server.requests_to("GET", LISTING)]
    assert statuses == [f"Bearer {zoom.issued_tokens[0]}"] * 2 + [f"Bearer {zoom.issued_tokens[1]}"]


def test_bad_app_credentials_raise_source_auth_error_that_names_no_secret(
    zoom: FakeZoom, clock: Clock, waits: RecordedWaits, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source = ZoomSource(
        zoom.account_id, zoom.client_id, "wrong-secret-XYZ", api_url=zoom.api_url, oauth_url=zoom.oauth_url,
        token_cache=TokenCache(), retry=waits.policy(), clock=clock,
    )  # fmt: skip

    with pytest.raises(SourceAuthError) as raised:
        list(source.list_files())

    assert "invalid_client" in str(raised.value)
    assert_clean_one_liner(str(raised.value), "wrong-secret-XYZ", zoom.client_id)
    assert_not_logged(caplog, "wrong-secret-XYZ")
    assert "wrong-secret-XYZ" not in repr(source)


def test_an_unreachable_api_raises_source_unavailable_after_retrying(
    clock: Clock, waits: RecordedWaits, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    source = ZoomSource("acct", "client", "secret-123", api_url=dead, oauth_url=dead, retry=waits.policy(),
                        token_cache=TokenCache(), clock=clock)  # fmt: skip

    with pytest.raises(SourceUnavailableError) as raised:
        list(source.list_files())

    assert_clean_one_liner(str(raised.value), "secret-123")
    assert "127.0.0.1" in str(raised.value)
    assert waits.waits == [0.5, 1.0]
    assert_not_logged(caplog, "secret-123")


def test_rate_limits_are_waited_out_honouring_retry_after_up_to_the_cap(
    zoom: FakeZoom, server: FakeHTTPServer, clock: Clock, waits: RecordedWaits
) -> None:
    zoom.add_meeting("Lecture", at("2024-03-04"))
    too_many = {"code": 429, "message": "You have reached the maximum per-second rate limit"}
    server.enqueue(
        "GET", LISTING,
        Response.json(too_many, 429, {"Retry-After": "2"}),
        Response.json(too_many, 429, {"Retry-After": "3600"}),
    )  # fmt: skip

    files = list(make_source(zoom, clock, waits, retry=waits.policy(attempts=3, max_wait_s=10)).list_files())

    assert [f.name for f in files] == ["Lecture"]
    assert waits.waits == [2.0, 10.0]


def test_downloads_stream_with_the_bearer_token_through_zooms_redirect(
    zoom: FakeZoom, server: FakeHTTPServer, clock: Clock, waits: RecordedWaits, tmp_path: Path
) -> None:
    zoom.add_meeting("Lecture", at("2024-03-04"), size=3 * 1024 * 1024 + 17)
    source = make_source(zoom, clock, waits)
    [file] = source.list_files()
    seen: list[tuple[int, int | None]] = []

    written = source.download(file, tmp_path / "raw" / "source.mp4", lambda done, total: seen.append((done, total)))

    assert written == file.size == (tmp_path / "raw" / "source.mp4").stat().st_size
    assert (tmp_path / "raw" / "source.mp4").read_bytes() == zoom.contents[file.file_id]
    assert seen[-1] == (file.size, file.size)
    assert list((tmp_path / "raw").iterdir()) == [tmp_path / "raw" / "source.mp4"]
    [link] = server.requests_to("GET", "/rec/download/{file_id}")
    assert link.header("authorization") == f"Bearer {zoom.issued_tokens[-1]}"


def test_a_download_shorter_than_the_listed_size_fails_and_leaves_no_file(
    zoom: FakeZoom, clock: Clock, waits: RecordedWaits, tmp_path: Path
) -> None:
    meeting = zoom.add_meeting("Lecture", at("2024-03-04"), size=1000)
    meeting["recording_files"][0]["file_size"] = 1500
    source = make_source(zoom, clock, waits)
    [file] = source.list_files()

    with pytest.raises(StageError) as raised:
        source.download(file, tmp_path / "source.mp4")

    assert raised.value.stage == "download"
    assert "1000 of 1500 bytes" in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_a_connection_cut_mid_download_fails_and_leaves_no_file(
    zoom: FakeZoom, server: FakeHTTPServer, clock: Clock, waits: RecordedWaits, tmp_path: Path
) -> None:
    zoom.add_meeting("Lecture", at("2024-03-04"), size=1000)
    server.route("GET", "/cdn/{file_id}", Response(body=b"x" * 400, declared_length=1000))
    source = make_source(zoom, clock, waits)
    [file] = source.list_files()

    with pytest.raises(StageError) as raised:
        source.download(file, tmp_path / "source.mp4")

    assert raised.value.stage == "download"
    assert_clean_one_liner(str(raised.value), *secrets_of(zoom))
    assert list(tmp_path.iterdir()) == []


def test_a_download_after_the_token_expired_mints_a_new_one(
    zoom: FakeZoom, clock: Clock, waits: RecordedWaits, tmp_path: Path
) -> None:
    zoom.add_meeting("Lecture", at("2024-03-04"), size=100)
    source = make_source(zoom, clock, waits)
    [file] = source.list_files()
    zoom.expire_tokens()

    assert source.download(file, tmp_path / "source.mp4") == 100
    assert len(zoom.issued_tokens) == 2


def test_a_download_link_outside_zoom_is_refused_before_the_token_is_sent(
    zoom: FakeZoom, server: FakeHTTPServer, clock: Clock, waits: RecordedWaits, tmp_path: Path
) -> None:
    forged = SourceFile("f1", "Lecture", 10, None, extra={"download_url": "https://collector.example/steal"})

    with pytest.raises(StageError, match="outside Zoom"):
        make_source(zoom, clock, waits).download(forged, tmp_path / "source.mp4")
    assert server.requests == []


@pytest.mark.parametrize("uuid", ["/ajXp112QmuoKj4854875==", "ab//cd==", "plainUuid4Q=="])
def test_one_meeting_is_looked_up_by_its_uuid_however_it_must_be_encoded(
    zoom: FakeZoom, clock: Clock, waits: RecordedWaits, uuid: str
) -> None:
    zoom.add_meeting("Lecture", at("2024-03-04"), uuid=uuid)

    file = make_source(zoom, clock, waits).meeting_recording(uuid)

    assert file is not None
    assert file.extra["meeting_uuid"] == uuid


def test_a_meeting_zoom_no_longer_has_is_reported_as_gone(zoom: FakeZoom, clock: Clock, waits: RecordedWaits) -> None:
    assert make_source(zoom, clock, waits).meeting_recording("deleted==") is None


def test_a_file_without_a_download_link_is_fetched_through_its_meeting(
    zoom: FakeZoom, clock: Clock, waits: RecordedWaits, tmp_path: Path
) -> None:
    meeting = zoom.add_meeting("Lecture", at("2024-03-04"), size=64)
    source = make_source(zoom, clock, waits)
    [listed] = source.list_files()
    bare = SourceFile(listed.file_id, listed.name, 64, None, extra={"meeting_uuid": meeting["uuid"]})

    assert source.download(bare, tmp_path / "source.mp4") == 64


def test_no_token_or_secret_reaches_the_logs_of_a_full_sync(
    zoom: FakeZoom, server: FakeHTTPServer, clock: Clock, waits: RecordedWaits, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    zoom.add_meeting("Lecture", at("2024-03-04"), size=100)
    server.enqueue("GET", LISTING, Response.json({"code": 429}, 429))
    source = make_source(zoom, clock, waits)
    [file] = source.list_files()
    zoom.expire_tokens()
    source.download(file, tmp_path / "source.mp4")

    assert caplog.records
    assert_not_logged(caplog, *secrets_of(zoom))


def test_recordings_of_a_named_user_are_listed_by_email(
    zoom: FakeZoom, server: FakeHTTPServer, clock: Clock, waits: RecordedWaits
) -> None:
    zoom.add_meeting("Lecture", at("2024-03-04"))

    files = list(make_source(zoom, clock, waits, user_id="lecturer@example.edu").list_files())

    assert len(files) == 1
    assert server.requests_to("GET", LISTING)[0].raw_path == "/v2/users/lecturer@example.edu/recordings"


def test_an_unknown_zoom_user_is_a_source_error_naming_the_user(
    zoom: FakeZoom, clock: Clock, waits: RecordedWaits
) -> None:
    with pytest.raises(SourceError, match=re.escape("'ghost@example.edu' does not exist")) as raised:
        list(make_source(zoom, clock, waits, user_id="ghost@example.edu").list_files())

    assert_clean_one_liner(str(raised.value), *secrets_of(zoom))
