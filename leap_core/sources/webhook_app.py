"""The Zoom webhook receiver: a small ASGI app that turns `recording.completed` pushes into recordings.

Polling stays the backstop; this only makes a finished meeting show up seconds after Zoom announces it
instead of at the next listing. Each Zoom source has its own endpoint, `POST /zoom/<source id>`, and
its own secret token (the optional `webhook_secret_token` field of its Zoom credential): the request is
verified against that source's secret and account before its body is looked at, so one tenant's Zoom
app can never register recordings for another's source.

The receiver never downloads: it registers the file through `sync.register_pushed`, the same path the
sync uses (same file ids, so a file the sync already saw, or a delivery Zoom repeats, registers once),
and the launcher starts the work. Database calls run in a worker thread so a slow query never stalls
the event loop that answers Zoom within its 3 s deadline.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.credentials import reveal
from leap_core.db.models import Credential, Source
from leap_core.db.session import Database
from leap_core.errors import ValidationError
from leap_core.secrets import SecretBox
from leap_core.sources import sync
from leap_core.sources.base import DEFAULT_PREFERRED_TYPES
from leap_core.sources.zoom_webhook import (
    DEFAULT_TOLERANCE_S,
    SIGNATURE_HEADER,
    WebhookRejectedError,
    is_url_validation,
    parse_recording_completed,
    url_validation_response,
    verify_signature,
)

log = logging.getLogger(__name__)

WEBHOOK_SECRET_FIELD = "webhook_secret_token"
MAX_BODY_BYTES = 1 << 20
"""Zoom's event bodies are a few KB; anything near a megabyte is not Zoom, and is refused unread."""
REPLAY_MEMORY = 10_000
WEBHOOK_ACTOR = Actor("zoom-webhook", origin="webhook")


@dataclass(frozen=True)
class SourceSecret:
    """What verifying a request to one source needs: its owner's secret token and Zoom account."""

    source_id: str
    secret: str
    account_id: str


class ReplayGuard:
    """Signatures seen within the timestamp window: an identical delivery is answered, never applied twice.

    The timestamp window already refuses old replays; this catches a replay inside the window cheaply,
    before the database is asked. It is per process and bounded; the file-id deduplication in the
    database is what makes several receivers (or a restart) safe.
    """

    def __init__(self, capacity: int = REPLAY_MEMORY) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def first_time(self, signature: str) -> bool:
        with self._lock:
            if signature in self._seen:
                return False
            self._seen[signature] = None
            if len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return True


def _source_secret(db: Database, settings: Settings, source_id: str) -> SourceSecret | None:
    """The enabled Zoom source's webhook secret, or None when there is no such source or no secret."""
    with db.session() as session:
        source = session.get(Source, source_id)
        if source is None or source.kind != "zoom" or not source.enabled or not source.credential_id:
            return None
        credential = session.get(Credential, source.credential_id)
        if credential is None:
            return None
        fields = reveal(credential, SecretBox(settings.secret_keys))
    secret = fields.get(WEBHOOK_SECRET_FIELD)
    if not secret:
        return None
    return SourceSecret(source_id, secret, fields.get("account_id", ""))


def _register(db: Database, source_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    with db.session() as session:
        source = session.get(Source, source_id)
        if source is None:
            return {"status": "ignored", "reason": "source removed"}
        preferred = tuple((source.config or {}).get("preferred_types") or DEFAULT_PREFERRED_TYPES)
        files = parse_recording_completed(payload, preferred)
        summary = sync.register_pushed(session, WEBHOOK_ACTOR, source, files)
    return {"status": "registered" if summary.registered else "duplicate",
            "registered": len(summary.registered), "over_quota": summary.over_quota}


def _json(status: int, body: Mapping[str, Any]) -> JSONResponse:
    return JSONResponse(dict(body), status_code=status)


def create_app(db: Database, settings: Settings, tolerance_s: float = DEFAULT_TOLERANCE_S) -> Starlette:
    """The receiver over LEAP's database; `tolerance_s` is how old a signed timestamp may be."""
    replays = ReplayGuard()

    async def zoom(request: Request) -> JSONResponse:
        source_id = request.path_params["source_id"]
        raw = await _read_bounded(request)
        if raw is None:
            return _json(413, {"error": "body too large"})
        secret = await run_in_threadpool(_source_secret, db, settings, source_id)
        if secret is None:
            # The same answer for "no such source" and "no secret": an id cannot be probed.
            return _json(404, {"error": "no Zoom webhook is configured at this address"})
        try:
            verify_signature(request.headers, raw, secret.secret, datetime.now(UTC), tolerance_s)
        except WebhookRejectedError as exc:
            log.warning("webhook for source %s rejected: %s", source_id, exc)
            return _json(401, {"error": str(exc)})
        payload = _payload(raw)
        if payload is None:
            return _json(400, {"error": "the body is not a JSON object"})
        if is_url_validation(payload):
            try:
                return _json(200, url_validation_response(payload, secret.secret))
            except ValidationError as exc:
                return _json(400, {"error": str(exc)})
        if payload.get("event") != "recording.completed":
            return _json(200, {"status": "ignored", "reason": f"event {payload.get('event')!r} is not handled"})
        account = str((payload.get("payload") or {}).get("account_id", ""))
        if secret.account_id and account != secret.account_id:
            log.warning("webhook for source %s rejected: event of another Zoom account", source_id)
            return _json(403, {"error": "the event belongs to another Zoom account"})
        if not replays.first_time(request.headers.get(SIGNATURE_HEADER, "")):
            return _json(200, {"status": "duplicate"})
        try:
            result = await run_in_threadpool(_register, db, source_id, payload)
        except ValidationError as exc:
            return _json(400, {"error": str(exc)})
        log.info("webhook for source %s: %s", source_id, result["status"])
        return _json(200, result)

    async def health(_: Request) -> JSONResponse:
        return _json(200, {"status": "ok"})

    return Starlette(routes=[
        Route("/zoom/{source_id}", zoom, methods=["POST"]),
        Route("/healthz", health, methods=["GET"]),
    ])


async def _read_bounded(request: Request) -> bytes | None:
    """The body, or None as soon as it exceeds MAX_BODY_BYTES (a declared or an actual length)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _payload(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def serve(db: Database, settings: Settings, host: str, port: int) -> None:
    """Run the receiver until interrupted (`leap webhooks serve`); one process per deployment is enough."""
    import uvicorn

    uvicorn.run(create_app(db, settings), host=host, port=port, log_config=None, access_log=False)
