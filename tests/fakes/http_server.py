"""A scripted HTTP server on 127.0.0.1 that real client libraries (httpx, requests, SDKs) talk to.

Tests of LEAP's SaaS clients (Zoom, Yandex Disk, YouTube, VK, OpenAI, webhooks) point the client's base
URL at this server instead of mocking the client, so the real HTTP stack (redirects, headers, encoding,
streaming, timeouts) is exercised. Each test states the platform's behaviour as routes and scripted
responses and then checks what the client sent through the request log.

Usage::

    with FakeHTTPServer() as server:
        server.route("GET", "/v1/items/{item_id}", lambda req: Response.json({"id": req.params["item_id"]}))
        server.enqueue("GET", "/v1/items/{item_id}", Response.json({"error": "slow down"}, status=429))
        client = MyClient(api_url=server.url)          # first call gets the 429, the next the route
        ...
        assert [r.path for r in server.requests] == ["/v1/items/7", "/v1/items/7"]

- `route(method, pattern, handler)`: the standing answer; `handler` is a `Response` or a function of the
  `Request`. Patterns are paths with `{name}` placeholders that match one raw (still percent-encoded)
  segment; `Request.params` holds each segment percent-decoded once, as a real server would see it.
- `enqueue(method, pattern, *responses)`: one-shot answers consumed in order before the route applies;
  that is how "429 then success" or "401 then success" is scripted.
- Unmatched requests get a 404 JSON body and are still logged, so a wrong URL fails the test visibly.
- `Response(body, declared_length=N)` advertises a Content-Length larger than the body and then closes
  the connection: a download cut short by the network.
- `Response.json(data, status, headers)` and `Response.redirect(location)` build the common answers.
- `server.requests` is the log of every request (method, raw path, query, headers, body; chunked request
  bodies are de-chunked), in arrival order; `server.requests_to(method, pattern)` filters it by route.

As a pytest fixture: ``yield from fake_http_server()`` inside a fixture function, or use the context
manager directly.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

IDLE_CONNECTION_TIMEOUT_S = 5.0
POLL_INTERVAL_S = 0.02
"""How often serve_forever checks for shutdown: it bounds each test's teardown."""


@dataclass(frozen=True)
class Request:
    """One request as the server received it."""

    method: str
    raw_path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The path percent-decoded once (what a framework would route on)."""
        return unquote(self.raw_path)

    def arg(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """An application/x-www-form-urlencoded body, first value per key."""
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


@dataclass(frozen=True)
class Response:
    """What the server sends back; `declared_length` lies about Content-Length to simulate a cut stream."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    declared_length: int | None = None

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json", **(headers or {})}
        return cls(status=status, body=json.dumps(data).encode(), headers=merged)

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Response:
        return cls(status=status, headers={"Location": location})


Handler = Callable[[Request], Response]


class _Route:
    def __init__(self, method: str, pattern: str) -> None:
        self.method = method.upper()
        self.pattern = pattern
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern))
        self._regex = re.compile(f"^{regex}$")

    def match(self, method: str, raw_path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self._regex.match(raw_path)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


class FakeHTTPServer:
    """A threaded HTTP/1.1 server on a free 127.0.0.1 port; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: list[tuple[_Route, Handler | Response]] = []
        self._queued: dict[tuple[str, str], deque[Response]] = defaultdict(deque)
        self._requests: list[Request] = []
        self._httpd = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(POLL_INTERVAL_S,), name="fake-http", daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:54321."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[Request]:
        """A snapshot of every request received so far."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, pattern: str) -> list[Request]:
        """The logged requests a route pattern would match."""
        route = _Route(method, pattern)
        return [r for r in self.requests if route.match(r.method, r.raw_path) is not None]

    def route(self, method: str, pattern: str, handler: Handler | Response) -> None:
        """The standing answer for a route; a later route for the same pattern replaces the earlier one."""
        with self._lock:
            key = (method.upper(), pattern)
            self._routes = [(r, h) for r, h in self._routes if (r.method, r.pattern) != key]
            self._routes.append((_Route(method, pattern), handler))

    def enqueue(self, method: str, pattern: str, *responses: Response) -> None:
        """One-shot answers for a route pattern, used in order before its standing answer."""
        with self._lock:
            self._queued[(method.upper(), pattern)].extend(responses)
            if not any((r.method, r.pattern) == (method.upper(), pattern) for r, _ in self._routes):
                self._routes.append((_Route(method, pattern), _not_found))

    def start(self) -> FakeHTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> FakeHTTPServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _respond(self, method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        with self._lock:
            route, handler, params = self._match(method, raw_path)
            arguments = parse_qs(query, keep_blank_values=True)
            request = Request(method, raw_path, arguments, headers, body, params)
            self._requests.append(request)
            queued = self._queued.get((route.method, route.pattern)) if route else None
            if queued:
                return queued.popleft()
        return handler(request) if callable(handler) else handler

    def _match(self, method: str, raw_path: str) -> tuple[_Route | None, Handler | Response, dict[str, str]]:
        for route, handler in self._routes:
            params = route.match(method, raw_path)
            if params is not None:
                return route, handler, params
        return None, _not_found, {}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client dropping its keep-alive connection is normal, not an error worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _not_found(request: Request) -> Response:
    return Response.json({"error": "no fake route", "method": request.method, "path": request.path}, 404)


def _make_handler(server: FakeHTTPServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = IDLE_CONNECTION_TIMEOUT_S

        def _serve(self) -> None:
            body = self._read_body()
            parts = urlsplit(self.path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                response = server._respond(self.command, parts.path, parts.query, headers, body)
            except Exception as exc:  # a broken test handler must fail the request, not hang the client
                response = Response.json({"error": f"fake handler raised {type(exc).__name__}: {exc}"}, 500)
            self._write(response)

        def _read_body(self) -> bytes:
            """Content-Length or chunked bodies (httpx streams generators and files chunked)."""
            if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)

        def _write(self, response: Response) -> None:
            self.send_response(response.status, HTTPStatus(response.status).phrase)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(response.declared_length or len(response.body)))
            if response.declared_length is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silenced: the request log is the record, stderr noise is not."""

    return _Handler


def fake_http_server() -> Iterator[FakeHTTPServer]:
    """Generator body for a pytest fixture: ``yield from fake_http_server()``."""
    with FakeHTTPServer() as server:
        yield server
