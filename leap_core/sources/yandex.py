"""A Yandex Disk folder as a LEAP source.

The REST API lists a folder page by page (`limit`/`offset`, sorted by creation so new uploads land at
the end and do not shift earlier pages). Only video and audio files count. A file's identity is Yandex's
`resource_id`, which survives renames and moves; md5 or the path stand in when it is missing. Download
links are short-lived and signed, so one is asked for right before each download and never stored; the
OAuth token is sent to the API only, never to the download host.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import httpx

from leap_core.sources.base import ProgressCallback, SourceFile
from leap_core.sources.http import (
    API_TIMEOUT,
    DOWNLOAD_TIMEOUT,
    RetryPolicy,
    SourceError,
    as_download_error,
    endpoint,
    new_client,
    parse_timestamp,
    raise_for_status,
    read_json,
    save_stream,
    send,
)

SERVICE = "Yandex Disk"
DEFAULT_API_URL = "https://cloud-api.yandex.net"
PAGE_SIZE = 100
MEDIA_TYPES = frozenset({"video", "audio"})


class YandexDiskSource:
    """The media files directly inside one Yandex Disk folder, read with the user's OAuth token."""

    def __init__(
        self,
        token: str,
        folder: str,
        api_url: str | None = None,
        page_size: int = PAGE_SIZE,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.folder = folder
        self.api_url = endpoint(api_url, DEFAULT_API_URL)
        self.page_size = page_size
        self._headers = {"Authorization": f"OAuth {token}", "Accept": "application/json"}
        self._retry = retry or RetryPolicy()

    def __repr__(self) -> str:
        return f"YandexDiskSource(folder={self.folder!r}, api_url={self.api_url!r})"

    def list_files(self) -> Iterator[SourceFile]:
        with new_client(API_TIMEOUT) as client:
            offset = 0
            while True:
                page = self._folder_page(client, offset)
                items = [item for item in page.get("items") or [] if isinstance(item, Mapping)]
                yield from (_source_file(item) for item in items if _is_media(item))
                offset += len(items)
                if not items or offset >= int(page.get("total") or 0):
                    return

    def download(self, file: SourceFile, dest: Path, progress: ProgressCallback | None = None) -> int:
        path = file.extra.get("path", "")
        try:
            with new_client(DOWNLOAD_TIMEOUT) as client:
                href = self._download_href(client, path)
                response = send(client, client.build_request("GET", href), SERVICE, self._retry)
                raise_for_status(response, SERVICE)
                return save_stream(response, dest, f"Yandex Disk file {file.name!r}", file.size, progress,
                                   expected_md5=file.extra.get("md5") or None)
        except SourceError as exc:
            raise as_download_error(exc) from None

    def _folder_page(self, client: httpx.Client, offset: int) -> Mapping[str, Any]:
        params = {"path": self.folder, "limit": str(self.page_size), "offset": str(offset), "sort": "created"}
        response = self._api_get(client, "/v1/disk/resources", params)
        if response.status_code == 404:
            response.close()
            raise SourceError(f"Yandex Disk folder {self.folder!r} does not exist")
        resource = read_json(response, SERVICE)
        if resource.get("type") != "dir":
            raise SourceError(f"Yandex Disk path {self.folder!r} is a file, not a folder")
        embedded = resource.get("_embedded")
        return embedded if isinstance(embedded, Mapping) else {}

    def _download_href(self, client: httpx.Client, path: str) -> str:
        response = self._api_get(client, "/v1/disk/resources/download", {"path": path})
        if response.status_code == 404:
            response.close()
            raise SourceError(f"Yandex Disk no longer has {path!r}")
        href = read_json(response, SERVICE).get("href")
        if not isinstance(href, str) or not href.startswith(("https://", "http://")):
            raise SourceError(f"Yandex Disk gave no download link for {path!r}")
        return href

    def _api_get(self, client: httpx.Client, resource: str, params: Mapping[str, str]) -> httpx.Response:
        request = client.build_request("GET", f"{self.api_url}{resource}", params=params, headers=self._headers)
        return send(client, request, SERVICE, self._retry)


def _is_media(item: Mapping[str, Any]) -> bool:
    if item.get("type") != "file":
        return False
    mime = str(item.get("mime_type") or "")
    return item.get("media_type") in MEDIA_TYPES or mime.startswith(("video/", "audio/"))


def _source_file(item: Mapping[str, Any]) -> SourceFile:
    name = str(item.get("name") or PurePosixPath(str(item.get("path", ""))).name)
    size = item.get("size")
    return SourceFile(
        file_id=str(item.get("resource_id") or item.get("md5") or item.get("path")),
        name=name,
        size=size if isinstance(size, int) else None,
        recorded_at=parse_timestamp(item.get("created")),
        extension=PurePosixPath(name).suffix.lstrip(".").lower() or "mp4",
        extra={"path": str(item.get("path", "")), "md5": str(item.get("md5") or "")},
    )
