"""HTTP plumbing the cloud sources share: typed errors, polite retries and size-verified streamed downloads.

Every failure leaves here as a one-line `LeapError` built from the status code, the host and at most a
short error code from the platform: never from an exception's text, a URL with its query, or a body,
because those are where tokens and signed links hide.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import httpx

import leap_core.logs  # noqa: F401  (installs the URL-query redaction before httpx logs a request)
from leap_core.errors import DownloadMismatchError, StageError, ValidationError
from leap_core.sources.base import ProgressCallback, SourceAuthError, SourceError, SourceUnavailableError

log = logging.getLogger(__name__)

API_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DOWNLOAD_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
"""The read timeout is per chunk, so a long download is fine as long as bytes keep coming."""
CHUNK_SIZE = 1 << 20
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Built once: loading the CA bundle costs ~60 ms, more than a whole listing page on a fast link."""
    return httpx.create_ssl_context()


def new_client(timeout: httpx.Timeout) -> httpx.Client:
    """A client for one listing or one download; redirects are followed (Zoom and Yandex both use them)."""
    return httpx.Client(timeout=timeout, follow_redirects=True, verify=_ssl_context())


def endpoint(configured: str | None, default: str) -> str:
    """The base URL to call: the configured override (proxy, regional host, test server) or the platform's."""
    url = (configured or default).rstrip("/")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ValidationError(f"endpoint {url!r} is not an http(s) URL")
    return url


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep asking a rate-limited or flaky platform before giving up.

    `sleep` is a parameter so tests can record the waits instead of spending them.
    """

    attempts: int = 4
    backoff_s: float = 1.0
    max_wait_s: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a retry policy needs at least one attempt")

    def wait_s(self, attempt: int, retry_after: str | None) -> float:
        """Retry-After when the platform sent one (seconds or an HTTP date), else exponential; both capped."""
        wait = _parse_retry_after(retry_after)
        if wait is None:
            wait = self.backoff_s * 2 ** (attempt - 1)
        return min(max(wait, 0.0), self.max_wait_s)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
    except (TypeError, ValueError):
        return None


def send(client: httpx.Client, request: httpx.Request, service: str, retry: RetryPolicy) -> httpx.Response:
    """Send, retrying 429/5xx and network errors; the response is streamed: read or close it."""
    attempt = 0
    while True:
        attempt += 1
        exhausted = attempt >= retry.attempts
        try:
            response = client.send(request, stream=True)
        except httpx.TransportError as exc:
            if exhausted:
                raise SourceUnavailableError(
                    f"{service} is unreachable at {request.url.host}: {_network_reason(exc)}"
                ) from None
            wait = retry.wait_s(attempt, None)
            log.warning("%s unreachable (%s); retrying in %.1f s", service, _network_reason(exc), wait)
        else:
            if response.status_code not in RETRYABLE_STATUSES or exhausted:
                return response
            response.close()
            wait = retry.wait_s(attempt, response.headers.get("Retry-After"))
            log.warning("%s answered HTTP %d; retrying in %.1f s", service, response.status_code, wait)
        retry.sleep(wait)


def _network_reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    return "network error"


def error_code(response: httpx.Response) -> str | None:
    """The platform's short machine-readable error code (`invalid_client`, `DiskNotFoundError`), if any."""
    data = _json_body(response)
    if not isinstance(data, dict):
        return None
    for key in ("error", "code"):
        value = data.get(key)
        if isinstance(value, str | int) and _SAFE_CODE.match(str(value)):
            return str(value)
    return None


def raise_for_status(response: httpx.Response, service: str) -> None:
    """Turn a failed response into the matching `SourceError`, with the status and error code only."""
    status = response.status_code
    if status < 400:
        return
    code = error_code(response)
    detail = f"HTTP {status}" + (f", {code}" if code else "")
    if status == 401:
        raise SourceAuthError(f"{service} rejected the credentials ({detail}); reconnect the source")
    if status == 403:
        raise SourceAuthError(f"{service} denied access ({detail}); check the app's permissions")
    if status in RETRYABLE_STATUSES:
        raise SourceUnavailableError(f"{service} is unavailable ({detail}); try again later")
    raise SourceError(f"{service} refused the request ({detail})")


def read_json(response: httpx.Response, service: str) -> dict[str, Any]:
    """The body of a successful JSON response, or a SourceError when the platform sent something else."""
    raise_for_status(response, service)
    data = _json_body(response)
    if not isinstance(data, dict):
        raise SourceError(f"{service} answered with something that is not a JSON object")
    return data


def _json_body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.read())
    except (ValueError, httpx.HTTPError):
        return None


def save_stream(
    response: httpx.Response,
    dest: Path,
    label: str,
    expected_size: int | None,
    progress: ProgressCallback | None = None,
    expected_md5: str | None = None,
) -> int:
    """Write the body next to `dest` under a temporary name and rename only if it is what was promised:
    the listed size, and the listed md5 where the platform gives one (Yandex Disk).

    A file at `dest` is therefore always complete: a cut connection, a platform that sends fewer bytes
    than its listing announced, or other bytes, leaves nothing behind but a StageError("download").
    """
    total = expected_size or _content_length(response)
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        digest = hashlib.md5(usedforsecurity=False) if expected_md5 else None
        with os.fdopen(handle, "wb") as out:
            done = _copy_body(response, out, label, total, progress, digest)
        if expected_size is not None and done != expected_size:
            raise DownloadMismatchError(f"download of {label} is incomplete: {done} of {expected_size} bytes")
        if digest is not None and expected_md5 and digest.hexdigest() != expected_md5.lower():
            raise DownloadMismatchError(f"download of {label} does not match the md5 the source listed")
        os.replace(temp, dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        response.close()
    return done


def _copy_body(
    response: httpx.Response, out: BinaryIO, label: str, total: int | None, progress: ProgressCallback | None,
    digest: Any = None,
) -> int:
    done = 0
    try:
        for chunk in response.iter_bytes(CHUNK_SIZE):
            out.write(chunk)
            if digest is not None:
                digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    except httpx.HTTPError as exc:
        reason = _network_reason(exc) if isinstance(exc, httpx.TransportError) else "stream error"
        of_total = f" of {total}" if total else ""
        raise StageError("download", f"download of {label} broke off at {done}{of_total} bytes ({reason})") from None
    return done


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def parse_timestamp(value: object) -> datetime | None:
    """A platform's ISO-8601 time as aware UTC (naive ones are UTC by both APIs' contracts), else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_download_error(exc: SourceError) -> StageError:
    """A listing-side failure met while downloading, restated as the stage failure the pipeline records."""
    return StageError("download", str(exc))
