"""A fake YouTube Data API v3 and Google token endpoint on 127.0.0.1, reached by the real client libraries.

Upload bodies are streamed into a counter and a hash, never kept, so the same fake serves multi-GB
benchmark uploads with flat memory. The resumable protocol follows Google's: `POST ?uploadType=resumable`
returns a session URI in `Location`; chunk `PUT`s carry `Content-Range: bytes a-b/size` and get
`308` + `Range` until the last one returns the video; `Content-Range: bytes */size` asks for the state.

Scripting: `fail(endpoint, status, reason, after=, times=)` makes the matching requests fail after
letting `after` of them through; `revoke()` turns refreshes into `invalid_grant`; `expire_sessions()`
makes every existing session answer 404.
"""

from __future__ import annotations

import email
import hashlib
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

READ_BLOCK = 1 << 16
ENDPOINTS = ("token", "insert", "chunk", "captions", "playlist", "update", "delete", "thumbnail")


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})


@dataclass(frozen=True)
class Incoming:
    """One request as received; `body` is None for streamed upload bodies (see `size`)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes | None
    size: int
    status: int


class LoopbackServer:
    """A threaded HTTP/1.1 server on a free 127.0.0.1 port whose handler streams bodies itself."""

    def __init__(self, dispatch: Callable[[BaseHTTPRequestHandler], Reply]) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(dispatch))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-platform", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def _handler_class(dispatch: Callable[[BaseHTTPRequestHandler], Reply]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10

        def _serve(self) -> None:
            try:
                reply = dispatch(self)
            except Exception as exc:  # a broken fake must fail the request visibly, not hang the client
                reply = Reply.json({"error": f"fake raised {type(exc).__name__}: {exc}"}, 500)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silenced: the request log is the record."""

    return Handler


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def stream_body(handler: BaseHTTPRequestHandler, sink: Callable[[bytes], None]) -> int:
    """Feed the request body to `sink` block by block; returns its length."""
    remaining = int(handler.headers.get("Content-Length") or 0)
    total = 0
    while remaining:
        block = handler.rfile.read(min(READ_BLOCK, remaining))
        if not block:
            break
        sink(block)
        remaining -= len(block)
        total += len(block)
    return total


def error_reply(status: int, reason: str, message: str | None = None) -> Reply:
    text = message or reason
    return Reply.json(
        {"error": {"code": status, "message": text, "errors": [{"reason": reason, "message": text}]}}, status
    )


@dataclass
class ServedFake:
    """A fake platform served by a `LoopbackServer` for as long as it is used as a context manager."""

    _server: LoopbackServer

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()


@dataclass
class UploadSession:
    metadata: dict[str, Any]
    size: int
    received: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


@dataclass
class _Failure:
    status: int
    reason: str
    after: int
    times: int


class FakeYouTube(ServedFake):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = LoopbackServer(self._dispatch)
        self._failures: dict[str, list[_Failure]] = {name: [] for name in ENDPOINTS}
        self.requests: list[Incoming] = []
        self.sessions: dict[str, UploadSession] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.captions: dict[str, dict[str, Any]] = {}
        self.playlist_items: list[dict[str, Any]] = []
        self.thumbnails: dict[str, bytes] = {}
        self.access_tokens: set[str] = set()
        self.refresh_token = "1//fake-refresh-token-for-tests"
        self.revoked = False
        self.bytes_received = 0
        self._hold: threading.Event | None = None
        self._hold_after = 0
        self.held = 0

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def credentials(self) -> dict[str, str]:
        """Stored credentials as LEAP keeps them; the access token is stale so the first call refreshes."""
        return {
            "token": "fake.stale-access-token-value",
            "refresh_token": self.refresh_token,
            "client_id": "fake-client-id.apps.googleusercontent.com",
            "client_secret": "GOCSPX-fake-client-secret-value",
        }

    def fail(
        self, endpoint: str, status: int, reason: str = "backendError", *, after: int = 0, times: int = 1
    ) -> None:
        assert endpoint in ENDPOINTS, endpoint
        with self._lock:
            self._failures[endpoint].append(_Failure(status, reason, after, times))

    def revoke(self) -> None:
        self.revoked = True

    def hold_chunks(self, after: int) -> None:
        """Upload chunks after the first `after` wait, unread, until `release()` and are then refused: the
        uploading process can be killed with an upload half done at a known offset."""
        with self._lock:
            self._hold, self._hold_after = threading.Event(), after

    def release(self) -> None:
        with self._lock:
            hold, self._hold = self._hold, None
        if hold is not None:
            hold.set()

    def expire_sessions(self) -> None:
        with self._lock:
            self.sessions.clear()

    def requests_to(self, method: str, path: str) -> list[Incoming]:
        """Requests to `path`, leaving out the ones refused for a stale access token (the client then
        refreshes and repeats them)."""
        return [r for r in self.requests if r.method == method and r.path == path and r.status != 401]

    # --- request handling -------------------------------------------------------------------------

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> Reply:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in handler.headers.items()}
        method, path = handler.command, parts.path
        if method == "PUT" and path == "/upload/youtube/v3/videos" and "upload_id" in query:
            received = [0]
            reply = self._chunk(handler, query["upload_id"], headers, received)
            self._log(Incoming(method, path, query, headers, None, received[0], reply.status))
            return reply
        body = read_body(handler)
        reply = self._answer(method, path, query, headers, body)
        self._log(Incoming(method, path, query, headers, body, len(body), reply.status))
        return reply

    def _answer(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Reply:
        if path == "/token":
            return self._failed("token") or self._refresh(body)
        if headers.get("authorization", "").removeprefix("Bearer ") not in self.access_tokens:
            return error_reply(401, "authError", "Invalid Credentials")
        route = {
            ("POST", "/upload/youtube/v3/videos"): lambda: (
                self._failed("insert") or self._start(query, headers, body)
            ),
            ("POST", "/upload/youtube/v3/captions"): lambda: (
                self._failed("captions") or self._add_captions(headers, body)
            ),
            ("PUT", "/upload/youtube/v3/captions"): lambda: (
                self._failed("captions") or self._replace_captions(headers, body)
            ),
            ("GET", "/youtube/v3/captions"): lambda: self._list_captions(query),
            ("POST", "/upload/youtube/v3/thumbnails/set"): lambda: (
                self._failed("thumbnail") or self._set_thumbnail(query, body)
            ),
            ("POST", "/youtube/v3/playlistItems"): lambda: (
                self._failed("playlist") or self._add_to_playlist(body)
            ),
            ("PUT", "/youtube/v3/videos"): lambda: self._failed("update") or self._update(body),
            ("DELETE", "/youtube/v3/videos"): lambda: self._failed("delete") or self._delete(query),
        }.get((method, path))
        return route() if route else error_reply(404, "notFound", f"no fake route {method} {path}")

    def _log(self, request: Incoming) -> None:
        with self._lock:
            self.requests.append(request)

    def _failed(self, endpoint: str) -> Reply | None:
        with self._lock:
            for failure in self._failures[endpoint]:
                if failure.after:
                    failure.after -= 1
                    return None
                if failure.times:
                    failure.times -= 1
                    return error_reply(failure.status, failure.reason)
        return None

    def _refresh(self, body: bytes) -> Reply:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if self.revoked or form.get("refresh_token") != self.refresh_token:
            return Reply.json(
                {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, 400
            )
        token = f"ya29.fresh-access-token-{next(self._ids)}"
        with self._lock:
            self.access_tokens.add(token)
        return Reply.json({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _start(self, query: dict[str, str], headers: dict[str, str], body: bytes) -> Reply:
        if query.get("uploadType") != "resumable":
            return error_reply(400, "badRequest", "the fake only takes resumable uploads")
        upload_id = f"upload-{next(self._ids)}"
        with self._lock:
            self.sessions[upload_id] = UploadSession(
                json.loads(body or b"{}"), int(headers.get("x-upload-content-length", "0"))
            )
        location = f"{self.url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
        return Reply(200, headers={"Location": location})

    def _chunk(
        self, handler: BaseHTTPRequestHandler, upload_id: str, headers: dict[str, str], received: list[int]
    ) -> Reply:
        session = self.sessions.get(upload_id)
        span = headers.get("content-range", "").removeprefix("bytes ").partition("/")[0]
        if session is None:
            received[0] = stream_body(handler, lambda block: None)
            return error_reply(404, "notFound", "upload session not found")
        if span == "*":
            return self._session_state(session)
        held = self._held()
        if held is not None:
            held.wait(120)
            return error_reply(503, "backendError", "held chunk refused")
        failure = self._failed("chunk")
        start = int(span.split("-")[0])
        if failure or start != session.received:
            received[0] = stream_body(handler, lambda block: None)
            self.bytes_received += received[0]
            return failure or error_reply(400, "badContentRange", f"expected offset {session.received}")
        received[0] = stream_body(handler, session.digest.update)
        with self._lock:
            session.received += received[0]
            self.bytes_received += received[0]
        return self._session_state(session)

    def _held(self) -> threading.Event | None:
        with self._lock:
            if self._hold is None:
                return None
            if self._hold_after:
                self._hold_after -= 1
                return None
            self.held += 1
            return self._hold

    def _session_state(self, session: UploadSession) -> Reply:
        if session.received < session.size:
            headers = {"Range": f"bytes=0-{session.received - 1}"} if session.received else {}
            return Reply(308, headers=headers)
        video_id = next((vid for vid, v in self.videos.items() if v["session"] is session), None)
        if video_id is None:
            video_id = f"vid{next(self._ids):08d}"
            with self._lock:
                self.videos[video_id] = {
                    **session.metadata,
                    "session": session,
                    "sha256": session.digest.hexdigest(),
                }
        return Reply.json({"kind": "youtube#video", "id": video_id, **session.metadata})

    def _multipart(self, headers: dict[str, str], body: bytes) -> tuple[dict[str, Any], bytes]:
        message = email.message_from_bytes(f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body)
        meta, media = (part.get_payload(decode=True) for part in message.walk() if not part.is_multipart())
        assert isinstance(meta, bytes) and isinstance(media, bytes)
        return json.loads(meta), media

    def _add_captions(self, headers: dict[str, str], body: bytes) -> Reply:
        meta, srt = self._multipart(headers, body)
        caption_id = f"cap{next(self._ids)}"
        with self._lock:
            self.captions[caption_id] = {**meta["snippet"], "body": srt}
        return Reply.json({"kind": "youtube#caption", "id": caption_id, **meta})

    def _replace_captions(self, headers: dict[str, str], body: bytes) -> Reply:
        meta, srt = self._multipart(headers, body)
        caption = self.captions.get(meta["id"])
        if caption is None:
            return error_reply(404, "captionNotFound")
        caption["body"] = srt
        return Reply.json({"kind": "youtube#caption", "id": meta["id"]})

    def _list_captions(self, query: dict[str, str]) -> Reply:
        items = [
            {"id": cid, "snippet": {k: v for k, v in c.items() if k != "body"}}
            for cid, c in self.captions.items()
            if c["videoId"] == query.get("videoId")
        ]
        return Reply.json({"items": items})

    def _set_thumbnail(self, query: dict[str, str], body: bytes) -> Reply:
        """Answers like YouTube for a verified channel; `fail("thumbnail", 403, "forbidden")` is an
        unverified one."""
        with self._lock:
            self.thumbnails[query.get("videoId", "")] = body
        return Reply.json({"kind": "youtube#thumbnailSetResponse", "items": [{"default": {"url": "fake"}}]})

    def _add_to_playlist(self, body: bytes) -> Reply:
        item = json.loads(body)
        self.playlist_items.append(item)
        return Reply.json({"kind": "youtube#playlistItem", "id": f"pli{next(self._ids)}", **item})

    def _update(self, body: bytes) -> Reply:
        resource = json.loads(body)
        video = self.videos.get(resource["id"])
        if video is None:
            return error_reply(404, "videoNotFound")
        video.update({k: v for k, v in resource.items() if k != "id"})
        return Reply.json(resource)

    def _delete(self, query: dict[str, str]) -> Reply:
        with self._lock:
            found = self.videos.pop(query.get("id", ""), None)
        return Reply(204) if found else error_reply(404, "videoNotFound")
