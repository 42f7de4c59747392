"""A fake Zoom account (OAuth token endpoint, cloud recordings API, download links) on `FakeHTTPServer`.

It behaves like Zoom where LEAP depends on it: Server-to-Server OAuth with Basic client credentials,
bearer tokens that can be expired at will, `GET /v2/users/{id}/recordings` that refuses ranges over a
month and pages with `next_page_token`, a gateway that turns a single-encoded '/' in a meeting UUID into
a path separator (so only double encoding reaches the meeting), and download links that demand the
bearer token and redirect to a CDN URL.

    zoom = FakeZoom(server)
    zoom.add_meeting("Linear algebra", datetime(2024, 3, 4, 10, tzinfo=UTC))
    source = ZoomSource(zoom.account_id, zoom.client_id, zoom.client_secret,
                        api_url=zoom.api_url, oauth_url=zoom.oauth_url, ...)
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from tests.fakes.http_server import FakeHTTPServer, Handler, Request, Response

INVALID_TOKEN = Response.json({"code": 124, "message": "Invalid access token."}, status=401)
BAD_CLIENT = Response.json({"reason": "Invalid client_id or client_secret", "error": "invalid_client"}, 400)
MAX_RANGE = timedelta(days=31)


@dataclass
class FakeZoom:
    server: FakeHTTPServer
    account_id: str = "acct-Zx81"
    client_id: str = "client-Qw42"
    client_secret: str = "zoom-client-secret-DO-NOT-LEAK-7f3a"
    page_size_cap: int = 300
    users: set[str] = field(default_factory=lambda: {"me", "lecturer@example.edu"})
    token_lifetime_s: int = 3599
    meetings: list[dict[str, Any]] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict)
    issued_tokens: list[str] = field(default_factory=list)
    trashed: list[str] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.server.route("POST", "/oauth/token", self._token)
        self.server.route("GET", "/v2/users/{user_id}/recordings", self._authorized(self._list))
        self.server.route("GET", "/v2/meetings/{uuid}/recordings", self._authorized(self._meeting))
        self.server.route("DELETE", "/v2/meetings/{uuid}/recordings/{file_id}", self._authorized(self._trash))
        self.server.route("GET", "/rec/download/{file_id}", self._authorized(self._download_link))
        self.server.route("GET", "/cdn/{file_id}", self._cdn)

    @property
    def api_url(self) -> str:
        return f"{self.server.url}/v2"

    @property
    def oauth_url(self) -> str:
        return self.server.url

    def expire_tokens(self) -> None:
        """Every token issued so far stops working, as after Zoom's one-hour lifetime."""
        self.valid_tokens.clear()

    def add_meeting(
        self,
        topic: str,
        start: datetime,
        recording_types: tuple[str, ...] = ("shared_screen_with_speaker_view",),
        audio: bool = True,
        status: str = "completed",
        uuid: str | None = None,
        size: int = 4096,
    ) -> dict[str, Any]:
        """A meeting with one MP4 per recording type (plus M4A audio); every file holds `size` bytes."""
        number = next(self._ids)
        meeting: dict[str, Any] = {
            "uuid": uuid or f"uuid{number}Ab==",
            "id": 80000 + number,
            "topic": topic,
            "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": 45,
            "recording_files": [],
        }
        kinds = [(t, "MP4") for t in recording_types] + ([("audio_only", "M4A")] if audio else [])
        for recording_type, file_type in kinds:
            file_id = f"file-{number}-{recording_type}"
            self.contents[file_id] = bytes([number % 256]) * size
            meeting["recording_files"].append(
                {
                    "id": file_id,
                    "meeting_id": meeting["uuid"],
                    "recording_start": meeting["start_time"],
                    "recording_end": (start + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "file_type": file_type,
                    "file_extension": file_type,
                    "file_size": size if status == "completed" else 0,
                    "download_url": f"{self.server.url}/rec/download/{file_id}",
                    "status": status,
                    "recording_type": recording_type,
                }
            )
        self.meetings.append(meeting)
        return meeting

    def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.header("authorization") != f"Basic {expected}":
            return BAD_CLIENT
        if request.arg("grant_type") != "account_credentials" or request.arg("account_id") != self.account_id:
            return Response.json({"reason": "Invalid account_id", "error": "invalid_request"}, 400)
        token = f"zoom-access-token-{len(self.issued_tokens) + 1}-SECRET"
        self.issued_tokens.append(token)
        self.valid_tokens.add(token)
        return Response.json({"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime_s})

    def _authorized(self, handler: Handler) -> Handler:
        def check(request: Request) -> Response:
            token = (request.header("authorization") or "").removeprefix("Bearer ")
            return handler(request) if token in self.valid_tokens else INVALID_TOKEN

        return check

    def _list(self, request: Request) -> Response:
        if request.params["user_id"] not in self.users:
            return Response.json({"code": 1001, "message": f"User does not exist: {request.params['user_id']}"}, 404)
        start, end = (
            date.fromisoformat(request.arg("from") or ""),
            date.fromisoformat(request.arg("to") or ""),
        )
        if end - start > MAX_RANGE:
            return Response.json({"code": 300, "message": "The date range can not exceed one month."}, 400)
        found = [m for m in self.meetings if start <= date.fromisoformat(m["start_time"][:10]) <= end]
        size = min(int(request.arg("page_size") or 30), self.page_size_cap)
        offset = int(request.arg("next_page_token") or 0)
        page = found[offset : offset + size]
        more = offset + size < len(found)
        return Response.json(
            {
                "from": start.isoformat(),
                "to": end.isoformat(),
                "page_size": size,
                "total_records": len(found),
                "next_page_token": str(offset + size) if more else "",
                "meetings": page,
            }
        )

    def _meeting(self, request: Request) -> Response:
        if "%2f" in request.raw_path.lower():
            return Response.json({"code": 404, "message": "Not found (the gateway split the UUID)"}, 404)
        uuid = unquote(request.params["uuid"])
        for meeting in self.meetings:
            if meeting["uuid"] == uuid:
                return Response.json(meeting)
        return Response.json({"code": 3301, "message": "This recording does not exist."}, 404)

    def _trash(self, request: Request) -> Response:
        """`DELETE /meetings/{uuid}/recordings/{id}?action=trash`: the file leaves the listing (204)."""
        if request.arg("action") != "trash":
            return Response.json({"code": 300, "message": "LEAP only ever trashes (action=trash)"}, 400)
        uuid, file_id = unquote(request.params["uuid"]), unquote(request.params["file_id"])
        for meeting in self.meetings:
            files = meeting["recording_files"]
            if meeting["uuid"] == uuid and any(f["id"] == file_id for f in files):
                meeting["recording_files"] = [f for f in files if f["id"] != file_id]
                self.trashed.append(file_id)
                return Response(204)
        return Response.json({"code": 3301, "message": "This recording does not exist."}, 404)

    def _download_link(self, request: Request) -> Response:
        return Response.redirect(f"{self.server.url}/cdn/{request.params['file_id']}?sig=cdn-signature")

    def _cdn(self, request: Request) -> Response:
        content = self.contents.get(request.params["file_id"])
        if content is None:
            return Response(404)
        return Response(body=content, headers={"Content-Type": "video/mp4"})
