"""YandexDiskSource against a fake Yandex Disk on 127.0.0.1, through the real httpx client."""

from __future__ import annotations

import logging
import re
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leap_core.errors import DownloadMismatchError, StageError
from leap_core.sources.http import SourceAuthError, SourceError, SourceUnavailableError
from leap_core.sources.yandex import YandexDiskSource
from tests.core.sources.support import RecordedWaits, assert_clean_one_liner, assert_not_logged
from tests.fakes.http_server import FakeHTTPServer, Response
from tests.fakes.yandex import FakeYandexDisk

LISTING = "/v1/disk/resources"
LINK = "/v1/disk/resources/download"
TOO_MANY = Response.json({"error": "TooManyRequestsError", "description": "Too Many Requests"}, 429)


@pytest.fixture
def disk(server: FakeHTTPServer) -> FakeYandexDisk:
    return FakeYandexDisk(server)


def make_source(
    disk: FakeYandexDisk, waits: RecordedWaits, folder: str = "disk:/Lectures", **options: object
) -> YandexDiskSource:
    return YandexDiskSource(disk.token, folder, api_url=disk.api_url, retry=waits.policy(), **options)  # type: ignore[arg-type]


def test_lists_only_the_media_files_of_the_folder_across_pages(
    disk: FakeYandexDisk, server: FakeHTTPServer, waits: RecordedWaits
) -> None:
    for week in range(1, 5):
        disk.add_file(f"Lectures/week{week}.mp4", b"v" * week)
    disk.add_file("Lectures/podcast.mp3", b"a")
    disk.add_file("Lectures/slides.pdf", b"%PDF")
    disk.add_file("Lectures/archive/old.mp4", b"old")
    disk.add_file("Elsewhere/other.mp4", b"other")

    files = list(make_source(disk, waits, page_size=2).list_files())

    assert [f.name for f in files] == ["week1.mp4", "week2.mp4", "week3.mp4", "week4.mp4", "podcast.mp3"]
    assert [f.extension for f in files] == ["mp4"] * 4 + ["mp3"]
    calls = server.requests_to("GET", LISTING)
    assert [(r.arg("offset"), r.arg("limit")) for r in calls] == [
        ("0", "2"),
        ("2", "2"),
        ("4", "2"),
        ("6", "2"),
    ]
    assert {r.arg("path") for r in calls} == {"disk:/Lectures"}


def test_a_listed_file_carries_its_resource_id_size_and_creation_time(
    disk: FakeYandexDisk, waits: RecordedWaits
) -> None:
    item = disk.add_file("Lectures/week1.mp4", b"0123456789", created=datetime(2024, 3, 4, 9, 30, tzinfo=UTC))

    [file] = make_source(disk, waits).list_files()

    assert file.file_id == item["resource_id"]
    assert file.size == 10
    assert file.recorded_at == datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
    assert file.complete is True
    assert file.extra["path"] == "disk:/Lectures/week1.mp4"


def test_a_file_without_a_resource_id_is_identified_by_its_md5(disk: FakeYandexDisk, waits: RecordedWaits) -> None:
    item = disk.add_file("Lectures/week1.mp4", b"content", resource_id=False)

    [file] = make_source(disk, waits).list_files()

    assert file.file_id == item["md5"]


def test_an_empty_folder_lists_nothing(disk: FakeYandexDisk, waits: RecordedWaits) -> None:
    disk.add_folder("Lectures")

    assert list(make_source(disk, waits).list_files()) == []


def test_a_missing_folder_is_a_source_error_naming_the_folder(disk: FakeYandexDisk, waits: RecordedWaits) -> None:
    with pytest.raises(SourceError) as raised:
        list(make_source(disk, waits, folder="disk:/Nope").list_files())

    assert "'disk:/Nope' does not exist" in str(raised.value)
    assert_clean_one_liner(str(raised.value), disk.token)


def test_a_rejected_token_raises_source_auth_error_that_never_shows_the_token(
    disk: FakeYandexDisk, waits: RecordedWaits, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    disk.add_file("Lectures/week1.mp4", b"v")
    source = YandexDiskSource("y0_revoked-token-SECRET", "disk:/Lectures", api_url=disk.api_url, retry=waits.policy())

    with pytest.raises(SourceAuthError) as raised:
        list(source.list_files())

    assert "UnauthorizedError" in str(raised.value)
    assert_clean_one_liner(str(raised.value), "y0_revoked-token-SECRET")
    assert_not_logged(caplog, "y0_revoked-token-SECRET")
    assert "y0_revoked-token-SECRET" not in repr(source)


def test_rate_limited_listings_are_retried_honouring_retry_after(
    disk: FakeYandexDisk, server: FakeHTTPServer, waits: RecordedWaits
) -> None:
    disk.add_file("Lectures/week1.mp4", b"v")
    server.enqueue("GET", LISTING, Response(429, TOO_MANY.body, {"Retry-After": "7"}), TOO_MANY)

    files = list(make_source(disk, waits).list_files())

    assert [f.name for f in files] == ["week1.mp4"]
    assert waits.waits == [7.0, 1.0]


def test_a_platform_that_keeps_failing_is_reported_unavailable(
    disk: FakeYandexDisk, server: FakeHTTPServer, waits: RecordedWaits
) -> None:
    server.route("GET", LISTING, Response.json({"error": "ServiceUnavailable"}, 503))

    with pytest.raises(SourceUnavailableError) as raised:
        list(make_source(disk, waits).list_files())

    assert "HTTP 503" in str(raised.value)
    assert len(server.requests) == 3


def test_an_unreachable_api_raises_source_unavailable(waits: RecordedWaits) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"

    with pytest.raises(SourceUnavailableError) as raised:
        list(YandexDiskSource("y0_tok", "disk:/L", api_url=dead, retry=waits.policy()).list_files())

    assert_clean_one_liner(str(raised.value), "y0_tok")


def test_downloads_through_a_link_fetched_right_before_each_download(
    disk: FakeYandexDisk, server: FakeHTTPServer, waits: RecordedWaits, tmp_path: Path
) -> None:
    disk.add_file("Lectures/week1.mp4", b"lecture-bytes" * 1000)
    source = make_source(disk, waits)
    [file] = source.list_files()
    progress: list[tuple[int, int | None]] = []

    first = source.download(file, tmp_path / "a" / "source.mp4", lambda done, total: progress.append((done, total)))
    second = source.download(file, tmp_path / "b" / "source.mp4")

    assert first == second == 13000
    assert (tmp_path / "a" / "source.mp4").read_bytes() == b"lecture-bytes" * 1000
    assert progress[-1] == (13000, 13000)
    paths = [r.path.split("?")[0] for r in server.requests]
    assert paths[-6:] == [LINK, "/disk/link2", "/storage/link2", LINK, "/disk/link3", "/storage/link3"]


def test_the_oauth_token_is_never_sent_to_the_download_host(
    disk: FakeYandexDisk, server: FakeHTTPServer, waits: RecordedWaits, tmp_path: Path
) -> None:
    disk.add_file("Lectures/week1.mp4", b"v")
    source = make_source(disk, waits)
    [file] = source.list_files()

    source.download(file, tmp_path / "source.mp4")

    fetches = server.requests_to("GET", "/disk/{link}") + server.requests_to("GET", "/storage/{link}")
    assert len(fetches) == 2
    assert all(r.header("authorization") is None for r in fetches)


def test_rate_limited_downloads_are_retried(
    disk: FakeYandexDisk, server: FakeHTTPServer, waits: RecordedWaits, tmp_path: Path
) -> None:
    disk.add_file("Lectures/week1.mp4", b"video")
    source = make_source(disk, waits)
    [file] = source.list_files()
    server.enqueue("GET", LINK, TOO_MANY)
    server.enqueue("GET", "/disk/{link}", Response(429, headers={"Retry-After": "2"}))

    assert source.download(file, tmp_path / "source.mp4") == 5
    assert waits.waits == [0.5, 2.0]


def test_a_download_shorter_than_the_listed_size_fails_and_leaves_no_file(
    disk: FakeYandexDisk, waits: RecordedWaits, tmp_path: Path
) -> None:
    disk.add_file("Lectures/week1.mp4", b"x" * 800)
    source = make_source(disk, waits)
    [file] = source.list_files()
    disk.contents["disk:/Lectures/week1.mp4"] = b"x" * 500

    with pytest.raises(StageError) as raised:
        source.download(file, tmp_path / "source.mp4")

    assert raised.value.stage == "download"
    assert "500 of 800 bytes" in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_a_download_whose_md5_differs_from_the_listing_fails_typed_and_leaves_no_file(
    disk: FakeYandexDisk, waits: RecordedWaits, tmp_path: Path
) -> None:
    disk.add_file("Lectures/week1.mp4", b"x" * 800)
    source = make_source(disk, waits)
    [file] = source.list_files()
    disk.contents["disk:/Lectures/week1.mp4"] = b"y" * 800  # same size, other bytes

    with pytest.raises(DownloadMismatchError, match="does not match the md5 the source listed") as raised:
        source.download(file, tmp_path / "source.mp4")

    assert raised.value.stage == "download"
    assert_clean_one_liner(str(raised.value), disk.token, "signed-link-secret")
    assert list(tmp_path.iterdir()) == []


def test_a_file_deleted_since_the_listing_fails_the_download_stage(
    disk: FakeYandexDisk, waits: RecordedWaits, tmp_path: Path
) -> None:
    disk.add_file("Lectures/week1.mp4", b"v")
    source = make_source(disk, waits)
    [file] = source.list_files()
    del disk.files["disk:/Lectures/week1.mp4"]

    with pytest.raises(StageError, match=re.escape("no longer has 'disk:/Lectures/week1.mp4'")) as raised:
        source.download(file, tmp_path / "source.mp4")

    assert_clean_one_liner(str(raised.value), disk.token, "signed-link-secret")


def test_no_token_or_signed_link_reaches_the_logs(
    disk: FakeYandexDisk, server: FakeHTTPServer, waits: RecordedWaits, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    disk.add_file("Lectures/week1.mp4", b"v")
    server.enqueue("GET", LISTING, TOO_MANY)
    server.enqueue("GET", "/disk/{link}", TOO_MANY)
    source = make_source(disk, waits)
    [file] = source.list_files()
    source.download(file, tmp_path / "source.mp4")

    assert caplog.records
    assert_not_logged(caplog, disk.token, "signed-link-secret")
