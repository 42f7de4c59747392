"""A fake Yandex Disk (REST API v1 and its download host) on `FakeHTTPServer`.

Like Yandex where LEAP depends on it: `Authorization: OAuth <token>`, folder listings paged with
`limit`/`offset` under `_embedded`, 404 `DiskNotFoundError` for a missing path, and download links that
are signed, single-use and redirect once to the storage host (so a cached or reused link fails).

    disk = FakeYandexDisk(server)
    disk.add_file("Lectures/week1.mp4", b"...")
    source = YandexDiskSource(disk.token, "disk:/Lectures", api_url=disk.api_url)
"""

from __future__ import annotations

import hashlib
import itertools
import mimetypes
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.http_server import FakeHTTPServer, Handler, Request, Response

UNAUTHORIZED = Response.json(
    {"message": "Unauthorized.", "description": "Unauthorized", "error": "UnauthorizedError"}, 401
)
NOT_FOUND = Response.json(
    {
        "message": "Resource not found.",
        "description": "Resource not found.",
        "error": "DiskNotFoundError",
    },
    404,
)


def disk_path(path: str) -> str:
    """Yandex accepts 'Lectures', '/Lectures' and 'disk:/Lectures' for the same folder."""
    return "disk:/" + path.removeprefix("disk:").strip("/")


@dataclass
class FakeYandexDisk:
    server: FakeHTTPServer
    token: str = "y0_AgAAAAB-yandex-oauth-token-DO-NOT-LEAK"
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    folders: set[str] = field(default_factory=lambda: {"disk:/"})
    live_links: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.server.route("GET", "/v1/disk/resources", self._authorized(self._resource))
        self.server.route("GET", "/v1/disk/resources/download", self._authorized(self._download_link))
        self.server.route("GET", "/disk/{link}", self._downloader)
        self.server.route("GET", "/storage/{link}", self._storage)

    @property
    def api_url(self) -> str:
        return self.server.url

    def add_folder(self, path: str) -> None:
        self.folders.add(disk_path(path))

    def add_file(
        self, path: str, content: bytes, created: datetime | None = None, resource_id: bool = True
    ) -> dict[str, Any]:
        """A file (its folder is created too); without `resource_id` the item lacks one, as old items may."""
        full = disk_path(path)
        self.add_folder(full.rsplit("/", 1)[0])
        number = next(self._ids)
        name = full.rsplit("/", 1)[1]
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        item: dict[str, Any] = {
            "name": name,
            "path": full,
            "type": "file",
            "mime_type": mime,
            "media_type": mime.split("/")[0] if mime.startswith(("video/", "audio/")) else "document",
            "size": len(content),
            "md5": hashlib.md5(content).hexdigest(),
            "created": (created or datetime(2024, 3, 1, tzinfo=UTC) + timedelta(hours=number)).isoformat(),
            "modified": datetime(2024, 3, 20, tzinfo=UTC).isoformat(),
        }
        if resource_id:
            item["resource_id"] = f"1130000000{number}:{hashlib.sha256(full.encode()).hexdigest()}"
        self.files[full] = item
        self.contents[full] = content
        return item

    def _authorized(self, handler: Handler) -> Handler:
        def check(request: Request) -> Response:
            return handler(request) if request.header("authorization") == f"OAuth {self.token}" else UNAUTHORIZED

        return check

    def _resource(self, request: Request) -> Response:
        path = disk_path(request.arg("path") or "")
        if path in self.files:
            return Response.json(self.files[path])
        if path not in self.folders:
            return NOT_FOUND
        children = [item for key, item in self.files.items() if key.rsplit("/", 1)[0] == path.rstrip("/")]
        children += [
            {"name": sub.rsplit("/", 1)[1], "path": sub, "type": "dir"}
            for sub in sorted(self.folders)
            if sub != path and sub.rsplit("/", 1)[0] == path.rstrip("/")
        ]
        children.sort(key=lambda item: item.get("created", ""))
        limit, offset = int(request.arg("limit") or 20), int(request.arg("offset") or 0)
        embedded = {
            "items": children[offset : offset + limit],
            "limit": limit,
            "offset": offset,
            "total": len(children),
            "path": path,
            "sort": request.arg("sort") or "",
        }
        return Response.json({"name": path.rsplit("/", 1)[1], "path": path, "type": "dir", "_embedded": embedded})

    def _download_link(self, request: Request) -> Response:
        path = disk_path(request.arg("path") or "")
        if path not in self.files:
            return NOT_FOUND
        link = f"link{next(self._ids)}"
        self.live_links[link] = path
        href = f"{self.server.url}/disk/{link}?uid=1&filename={self.files[path]['name']}&sign=signed-link-secret"
        return Response.json({"href": href, "method": "GET", "templated": False})

    def _downloader(self, request: Request) -> Response:
        if request.params["link"] not in self.live_links:
            return Response(410, b"link expired")
        return Response.redirect(f"{self.server.url}/storage/{request.params['link']}")

    def _storage(self, request: Request) -> Response:
        path = self.live_links.pop(request.params["link"], None)
        if path is None:
            return Response(410, b"link expired")
        return Response(body=self.contents[path], headers={"Content-Type": self.files[path]["mime_type"]})
