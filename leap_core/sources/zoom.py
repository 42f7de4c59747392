"""Zoom cloud recordings as a LEAP source.

A Server-to-Server OAuth app (account id, client id, client secret) mints one-hour access tokens; they
are cached per app so each sensor tick does not mint a new one, and a 401 forces one refresh. Zoom lets
`GET /users/{id}/recordings` span at most a month, so the look-back period is walked in calendar-month
windows, each paged with `next_page_token`. Each meeting yields one file: the first recording type in the
caller's preference order, else its M4A audio. A file Zoom is still processing is listed as incomplete,
which makes the recording PENDING_SOURCE until a later sync sees it completed.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from leap_core.paths import safe_extension
from leap_core.sources.base import DEFAULT_PREFERRED_TYPES, ProgressCallback, SourceFile
from leap_core.sources.http import (
    API_TIMEOUT,
    DOWNLOAD_TIMEOUT,
    RetryPolicy,
    SourceAuthError,
    SourceError,
    as_download_error,
    endpoint,
    error_code,
    new_client,
    parse_timestamp,
    raise_for_status,
    read_json,
    save_stream,
    send,
)

log = logging.getLogger(__name__)

SERVICE = "Zoom"
DEFAULT_API_URL = "https://api.zoom.us/v2"
DEFAULT_OAUTH_URL = "https://zoom.us"
AUDIO_FALLBACK_FILE_TYPE = "M4A"
PAGE_SIZE = 300
TOKEN_SAFETY_MARGIN = timedelta(minutes=5)
ZOOM_HOST_SUFFIXES = ("zoom.us", "zoomgov.com")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: datetime


class TokenCache:
    """Access tokens per OAuth app, shared across `ZoomSource` instances of one process.

    Keys are a hash of the app's identity *and secret*, so a rotated secret never reuses a token minted
    with the old one, and the cache itself holds no secret.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}

    def get(self, key: str, now: datetime) -> str | None:
        with self._lock:
            token = self._tokens.get(key)
        return token.value if token is not None and now < token.expires_at else None

    def put(self, key: str, value: str, expires_at: datetime) -> None:
        with self._lock:
            self._tokens[key] = _Token(value, expires_at)

    def drop(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)


SHARED_TOKEN_CACHE = TokenCache()


def month_windows(start: date, end: date) -> Iterator[tuple[date, date]]:
    """Inclusive (from, to) pairs covering start..end, none crossing a calendar month."""
    cursor = start
    while cursor <= end:
        next_month = (cursor.replace(day=1) + timedelta(days=32)).replace(day=1)
        yield cursor, min(end, next_month - timedelta(days=1))
        cursor = next_month


def encode_meeting_uuid(uuid: str) -> str:
    """Zoom requires a UUID that starts with '/' or contains '//' to be URL-encoded twice in a path."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


def select_recording(meeting: Mapping[str, Any], preferred_types: Sequence[str]) -> SourceFile | None:
    """The one file LEAP takes from a meeting: the most preferred recording type, else the M4A audio."""
    files = [f for f in meeting.get("recording_files") or [] if isinstance(f, Mapping) and f.get("id")]
    rank = {recording_type: position for position, recording_type in enumerate(preferred_types)}
    audio_rank = len(preferred_types)

    def position(file: Mapping[str, Any]) -> int | None:
        if str(file.get("file_type", "")).upper() == AUDIO_FALLBACK_FILE_TYPE:
            return audio_rank
        if str(file.get("file_type", "")).upper() == "MP4":
            return rank.get(str(file.get("recording_type", "")))
        return None

    candidates = [(p, f) for f in files if (p := position(f)) is not None]
    if not candidates:
        return None
    return _source_file(meeting, min(candidates, key=lambda pair: pair[0])[1])


def _source_file(meeting: Mapping[str, Any], file: Mapping[str, Any]) -> SourceFile:
    started = parse_timestamp(file.get("recording_start")) or parse_timestamp(meeting.get("start_time"))
    ended = parse_timestamp(file.get("recording_end"))
    if started is not None and ended is not None:
        duration_s: float | None = (ended - started).total_seconds()
    elif isinstance(meeting.get("duration"), int | float):
        duration_s = float(meeting["duration"]) * 60
    else:
        duration_s = None
    size = file.get("file_size")
    extension = safe_extension(str(file.get("file_extension") or file.get("file_type") or "mp4"))
    return SourceFile(
        file_id=str(file["id"]),
        name=str(meeting.get("topic") or f"Zoom meeting {meeting.get('id', '')}".strip()),
        size=size if isinstance(size, int) and size > 0 else None,
        recorded_at=started,
        complete=file.get("status") == "completed",
        duration_s=duration_s,
        extension=extension,
        extra={
            "meeting_uuid": str(meeting.get("uuid", "")),
            "meeting_id": str(meeting.get("id", "")),
            "recording_type": str(file.get("recording_type", "")),
            "download_url": str(file.get("download_url", "")),
        },
    )


class ZoomSource:
    """One Zoom user's cloud recordings, reached through a Server-to-Server OAuth app."""

    def __init__(
        self,
        account_id: str,
        client_id: str,
        client_secret: str,
        user_id: str = "me",
        api_url: str | None = None,
        oauth_url: str | None = None,
        preferred_types: Sequence[str] = DEFAULT_PREFERRED_TYPES,
        lookback_days: int = 30,
        token_cache: TokenCache | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.user_id = user_id
        self.api_url = endpoint(api_url, DEFAULT_API_URL)
        self.oauth_url = endpoint(oauth_url, DEFAULT_OAUTH_URL)
        self.preferred_types = tuple(preferred_types)
        self.lookback_days = lookback_days
        self._account_id = account_id
        self._basic_auth = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._cache = SHARED_TOKEN_CACHE if token_cache is None else token_cache
        self._cache_key = hashlib.sha256(
            "\0".join((self.oauth_url, account_id, client_id, client_secret)).encode()
        ).hexdigest()
        self._retry = retry or RetryPolicy()
        self._clock = clock

    def __repr__(self) -> str:
        return f"ZoomSource(user_id={self.user_id!r}, api_url={self.api_url!r})"

    def list_files(self) -> Iterator[SourceFile]:
        today = self._clock().date()
        seen: set[str] = set()
        with new_client(API_TIMEOUT) as client:
            for start, end in month_windows(today - timedelta(days=self.lookback_days), today):
                for meeting in self._meetings(client, start, end):
                    file = select_recording(meeting, self.preferred_types)
                    if file is not None and file.file_id not in seen:
                        seen.add(file.file_id)
                        yield file

    def meeting_recording(self, meeting_uuid: str) -> SourceFile | None:
        """The file LEAP would take from one meeting now, or None when Zoom no longer has its recordings."""
        url = f"{self.api_url}/meetings/{encode_meeting_uuid(meeting_uuid)}/recordings"
        with new_client(API_TIMEOUT) as client:
            response = self._authorized(client, "GET", url)
            if response.status_code == 404:
                response.close()
                return None
            return select_recording(read_json(response, SERVICE), self.preferred_types)

    def download(self, file: SourceFile, dest: Path, progress: ProgressCallback | None = None) -> int:
        try:
            url = file.extra.get("download_url") or self._fresh_download_url(file)
            self._check_download_host(url)
            with new_client(DOWNLOAD_TIMEOUT) as client:
                response = self._authorized(client, "GET", url)
                raise_for_status(response, SERVICE)
                return save_stream(response, dest, f"Zoom recording {file.name!r}", file.size, progress)
        except SourceError as exc:
            raise as_download_error(exc) from None

    def trash(self, file: SourceFile) -> None:
        """Move one downloaded recording file to the Zoom account's trash (recoverable there for 30 days).

        Templates ask for it (`retention.delete_source_after_download`) to keep a Zoom account under its
        cloud-storage cap; only a verified download is trashed, and a missing file counts as done.
        """
        meeting = encode_meeting_uuid(file.extra.get("meeting_uuid", ""))
        url = f"{self.api_url}/meetings/{meeting}/recordings/{quote(file.file_id, safe='')}"
        with new_client(API_TIMEOUT) as client:
            response = self._authorized(client, "DELETE", url, {"action": "trash"})
            if response.status_code == 404:
                response.close()
                return
            raise_for_status(response, SERVICE)
            response.close()

    def _fresh_download_url(self, file: SourceFile) -> str:
        current = self.meeting_recording(file.extra.get("meeting_uuid", ""))
        if current is None or current.file_id != file.file_id or not current.extra["download_url"]:
            raise SourceError(f"Zoom no longer has the recording {file.name!r}")
        return current.extra["download_url"]

    def _check_download_host(self, url: str) -> None:
        """The Bearer token may only travel to Zoom itself, or to the endpoints configured in its place."""
        host = urlsplit(url).hostname or ""
        own_hosts = {urlsplit(self.api_url).hostname, urlsplit(self.oauth_url).hostname}
        if host not in own_hosts and not any(host == s or host.endswith(f".{s}") for s in ZOOM_HOST_SUFFIXES):
            raise SourceError(f"Zoom download link points outside Zoom ({host or 'no host'}); refusing it")

    def _meetings(self, client: httpx.Client, start: date, end: date) -> Iterator[Mapping[str, Any]]:
        url = f"{self.api_url}/users/{quote(self.user_id, safe='@')}/recordings"
        page_token = ""
        while True:
            params = {"from": start.isoformat(), "to": end.isoformat(), "page_size": str(PAGE_SIZE)}
            if page_token:
                params["next_page_token"] = page_token
            response = self._authorized(client, "GET", url, params)
            if response.status_code == 404:
                response.close()
                raise SourceError(f"Zoom user {self.user_id!r} does not exist in this account")
            page = read_json(response, SERVICE)
            yield from (m for m in page.get("meetings") or [] if isinstance(m, Mapping))
            page_token = str(page.get("next_page_token") or "")
            if not page_token:
                return

    def _authorized(
        self, client: httpx.Client, method: str, url: str, params: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """Send with the cached token; on 401 (expired or revoked) mint a new one and try once more."""
        response = self._send_bearer(client, method, url, params, self._token(client, refresh=False))
        if response.status_code == 401:
            response.close()
            log.info("Zoom refused the cached access token; minting a new one")
            response = self._send_bearer(client, method, url, params, self._token(client, refresh=True))
        return response

    def _send_bearer(
        self, client: httpx.Client, method: str, url: str, params: Mapping[str, str] | None, token: str
    ) -> httpx.Response:
        request = client.build_request(method, url, params=params, headers={"Authorization": f"Bearer {token}"})
        return send(client, request, SERVICE, self._retry)

    def _token(self, client: httpx.Client, refresh: bool) -> str:
        now = self._clock()
        cached = None if refresh else self._cache.get(self._cache_key, now)
        if cached is not None:
            return cached
        self._cache.drop(self._cache_key)
        value, lifetime = self._mint_token(client)
        if lifetime > TOKEN_SAFETY_MARGIN:
            self._cache.put(self._cache_key, value, now + lifetime - TOKEN_SAFETY_MARGIN)
        return value

    def _mint_token(self, client: httpx.Client) -> tuple[str, timedelta]:
        request = client.build_request(
            "POST",
            f"{self.oauth_url}/oauth/token",
            params={"grant_type": "account_credentials", "account_id": self._account_id},
        )
        request.headers["Authorization"] = self._basic_auth
        response = send(client, request, SERVICE, self._retry)
        if response.status_code in (400, 401):
            code = error_code(response)
            raise SourceAuthError(
                f"Zoom rejected the Server-to-Server OAuth app (HTTP {response.status_code}"
                + (f", {code}" if code else "")
                + "); check the account id, client id and client secret"
            )
        data = read_json(response, SERVICE)
        value, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(value, str) or not value:
            raise SourceError("Zoom's token endpoint answered without an access token")
        return value, timedelta(seconds=expires_in if isinstance(expires_in, int | float) else 0)
