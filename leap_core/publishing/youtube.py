"""YouTube target over google-api-python-client: resumable chunked uploads that survive crashes, quota
parking, and no second copy of a video that is already up.

The client is built from the discovery document bundled with the library, with `rootUrl` replaced when an
endpoint override is given: the library derives upload URLs from `rootUrl`, so `api_endpoint` alone would
still send the bytes to googleapis.com.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import IO, Any, TypeVar
from zoneinfo import ZoneInfo

import httplib2
from google.auth.exceptions import RefreshError
from google.auth.exceptions import TransportError as AuthTransportError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from google_auth_httplib2 import Request as GoogleAuthRequest
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest, MediaFileUpload, MediaIoBaseUpload, build_http

from leap_core.errors import ValidationError
from leap_core.publishing.base import (
    Checkpoint,
    PublishError,
    PublishParked,
    PublishRequest,
    PublishResult,
    ReconnectRequired,
    backoff_delay,
)
from leap_core.publishing.metadata import CHUNK_UNIT, DEFAULT_CHUNK_SIZE, fit, scheduled_publish_at
from leap_core.publishing.youtube_resumable import attach_session

PLATFORM = "youtube"
DISPLAY_NAME = "YouTube"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    # captions.insert/update need the broader scope.
    "https://www.googleapis.com/auth/youtube.force-ssl",
)
EDUCATION_CATEGORY_ID = "27"
# YouTube Data API v3 costs as documented; they change, hence the constructor override.
DEFAULT_QUOTA_COSTS: Mapping[str, int] = {
    "videos.insert": 1600,
    "videos.update": 50,
    "videos.delete": 50,
    "captions.list": 50,
    "captions.insert": 400,
    "captions.update": 450,
    "thumbnails.set": 50,
    "playlistItems.insert": 50,
}
QUOTA_TIMEZONE = ZoneInfo("America/Los_Angeles")
UPLOAD_LIMIT_WAIT = timedelta(hours=24)
VIDEO_MIMETYPE = "application/octet-stream"

_TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_DEAD_SESSION_STATUSES = frozenset({404, 410})
# OSError covers refused and reset connections and socket timeouts.
_TRANSPORT_ERRORS = (httplib2.HttpLib2Error, OSError, AuthTransportError)
_REQUIRED_CREDENTIALS = ("refresh_token", "client_id", "client_secret")

_log = logging.getLogger(__name__)
T = TypeVar("T")


def next_quota_reset(now: datetime) -> datetime:
    """The next midnight in Pacific time (when YouTube resets daily quotas), as aware UTC."""
    tomorrow = now.astimezone(QUOTA_TIMEZONE).date() + timedelta(days=1)
    return datetime.combine(tomorrow, clock_time(0), tzinfo=QUOTA_TIMEZONE).astimezone(UTC)


def watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def video_resource(req: PublishRequest) -> dict[str, Any]:
    """The `snippet` and `status` parts of a video, within YouTube's limits."""
    fitted = fit(PLATFORM, req.title, req.description, req.chapters, req.tags)
    if not fitted.title:
        raise ValidationError("a YouTube video needs a non-empty title")
    snippet: dict[str, Any] = {
        "title": fitted.title,
        "description": fitted.description,
        "tags": fitted.tags,
        "categoryId": req.category_id or EDUCATION_CATEGORY_ID,
    }
    if req.language:
        snippet["defaultLanguage"] = req.language
    if req.captions_language:
        snippet["defaultAudioLanguage"] = req.captions_language
    status: dict[str, Any] = {"privacyStatus": req.privacy_status, "selfDeclaredMadeForKids": False}
    publish_at = scheduled_publish_at(req.privacy_status, req.publish_at)
    if publish_at:
        status["publishAt"] = publish_at
    return {"snippet": snippet, "status": status}


class _SessionGone(Exception):
    """The stored upload session no longer exists on YouTube's side."""


@dataclass(frozen=True)
class _Upload:
    video: dict[str, Any]
    resumed_from: int
    quota_units: int


class YouTubePublisher:
    """Publishes to one channel with its stored OAuth user credentials (see `leap_core.publishing.base`)."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        root_url: str | None = None,
        token_uri: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        quota_costs: Mapping[str, int] | None = None,
        max_retries: int = 5,
        backoff_s: float = 1.0,
    ) -> None:
        if chunk_size <= 0 or chunk_size % CHUNK_UNIT:
            raise ValidationError(f"YouTube chunk size must be a positive multiple of {CHUNK_UNIT} bytes")
        if any(not credentials.get(key) for key in _REQUIRED_CREDENTIALS):
            raise ReconnectRequired(DISPLAY_NAME)
        oauth = Credentials(
            token=credentials.get("token") or None,
            refresh_token=credentials["refresh_token"],
            token_uri=token_uri or GOOGLE_TOKEN_URI,
            client_id=credentials["client_id"],
            client_secret=credentials["client_secret"],
            scopes=list(SCOPES),
        )
        self._oauth = oauth
        self._service = build_from_document(
            _discovery_document(root_url), http=AuthorizedHttp(oauth, http=build_http())
        )
        self._chunk_size = chunk_size
        self._costs = {**DEFAULT_QUOTA_COSTS, **(quota_costs or {})}
        self._max_retries = max_retries
        self._backoff_s = backoff_s

    def publish(
        self, req: PublishRequest, *, resume_state: dict[str, Any] | None, checkpoint: Checkpoint
    ) -> PublishResult:
        body = video_resource(req)
        if req.captions_srt and not req.captions_language:
            raise ValidationError("captions need the video's language")
        state = dict(resume_state or {})
        size = req.video_path.stat().st_size
        bytes_sent, resumed_from, units = 0, size, 0
        if state.get("phase") != "uploaded":
            with req.video_path.open("rb") as stream:
                upload = self._upload(body, stream, size, state, checkpoint)
            bytes_sent, resumed_from, units = (
                size - upload.resumed_from,
                upload.resumed_from,
                upload.quota_units,
            )
            state = {"phase": "uploaded", "video_id": upload.video["id"], "done": []}
            checkpoint(dict(state))
        video_id = str(state["video_id"])
        if req.playlist_id and "playlist" not in state["done"]:
            units += self._add_to_playlist(video_id, req.playlist_id)
            self._mark_done(state, "playlist", checkpoint)
        if req.captions_srt and "captions" not in state["done"]:
            units += self._insert_captions(video_id, req)
            self._mark_done(state, "captions", checkpoint)
        skipped: tuple[str, ...] = ()
        if req.thumbnail and "thumbnail" not in state["done"]:
            cost, skipped = self._set_thumbnail(video_id, req.thumbnail)
            units += cost
            self._mark_done(state, "thumbnail", checkpoint)
        return PublishResult(PLATFORM, video_id, watch_url(video_id), bytes_sent, resumed_from, units, skipped)

    def check_health(self) -> None:
        """Refresh the access token once: a revoked or expired grant raises ReconnectRequired now, before
        a scheduled upload would find out."""
        try:
            self._oauth.refresh(GoogleAuthRequest(build_http()))
        except RefreshError:
            raise ReconnectRequired(DISPLAY_NAME) from None

    def update_metadata(self, video_id: str, req: PublishRequest) -> None:
        body = {"id": video_id, **video_resource(req)}
        self._run("update the video", self._service.videos().update(part="snippet,status", body=body).execute)
        if req.captions_srt:
            self._replace_captions(video_id, req)

    def delete(self, video_id: str) -> None:
        request = self._service.videos().delete(id=video_id)
        self._run("delete the video", lambda: _unless_missing(request))

    def _upload(
        self,
        body: dict[str, Any],
        stream: IO[bytes],
        size: int,
        state: dict[str, Any],
        checkpoint: Checkpoint,
    ) -> _Upload:
        stored = state.get("session_uri") if state.get("size") == size else None
        for session_uri in (stored, None) if stored else (None,):
            media = MediaIoBaseUpload(
                stream, mimetype=VIDEO_MIMETYPE, chunksize=self._chunk_size, resumable=True
            )
            request = self._service.videos().insert(part="snippet,status", body=body, media_body=media)
            try:
                return self._send(request, session_uri, size, checkpoint)
            except _SessionGone:
                _log.info("the stored YouTube upload session has expired; starting a new upload")
        raise PublishError("YouTube discarded the new upload session; retry the upload later")

    def _send(
        self, request: HttpRequest, session_uri: str | None, size: int, checkpoint: Checkpoint
    ) -> _Upload:
        resumed_from = 0
        if session_uri is not None:
            finished = self._run(
                "resume the upload", lambda: _alive(attach_session, request, session_uri, size)
            )
            resumed_from = request.resumable_progress
            _log.info("resuming the YouTube upload at byte %d of %d", resumed_from, size)
            if finished is not None:
                return _Upload(finished, resumed_from, 0)
        units = 0 if session_uri else self._costs["videos.insert"]
        response = None
        while response is None:
            _, response = self._run("upload the video", lambda: _alive(request.next_chunk))
            if response is None:
                checkpoint(
                    {
                        "phase": "uploading",
                        "session_uri": request.resumable_uri,
                        "offset": request.resumable_progress,
                        "size": size,
                    }
                )
        return _Upload(response, resumed_from, units)

    def _add_to_playlist(self, video_id: str, playlist_id: str) -> int:
        body = {
            "snippet": {
                "playlistId": playlist_id,
                "resourceId": {"kind": "youtube#video", "videoId": video_id},
            }
        }
        self._run(
            "add the video to the playlist",
            self._service.playlistItems().insert(part="snippet", body=body).execute,
        )
        return self._costs["playlistItems.insert"]

    def _insert_captions(self, video_id: str, req: PublishRequest) -> int:
        assert req.captions_srt is not None
        body = {"snippet": {"videoId": video_id, "language": req.captions_language, "name": "", "isDraft": False}}
        media = MediaFileUpload(str(req.captions_srt), mimetype="application/octet-stream")
        self._run(
            "upload the captions",
            self._service.captions().insert(part="snippet", body=body, media_body=media).execute,
        )
        return self._costs["captions.insert"]

    def _replace_captions(self, video_id: str, req: PublishRequest) -> None:
        assert req.captions_srt is not None
        listing = self._run(
            "list the captions", self._service.captions().list(part="snippet", videoId=video_id).execute
        )
        same_language = [c for c in listing.get("items", []) if c["snippet"].get("language") == req.captions_language]
        if not same_language:
            self._insert_captions(video_id, req)
            return
        body = {"id": same_language[0]["id"], "snippet": {"isDraft": False}}
        media = MediaFileUpload(str(req.captions_srt), mimetype="application/octet-stream")
        self._run(
            "update the captions",
            self._service.captions().update(part="snippet", body=body, media_body=media).execute,
        )

    def _set_thumbnail(self, video_id: str, image: Path) -> tuple[int, tuple[str, ...]]:
        """Custom thumbnails need a verified channel: YouTube's 403 for an unverified one is recorded, not
        raised, since the video itself is published and a retry would be refused the same way."""
        media = MediaFileUpload(str(image), mimetype="image/jpeg")
        try:
            self._run("set the thumbnail",
                      self._service.thumbnails().set(videoId=video_id, media_body=media).execute)
        except ReconnectRequired:
            raise
        except PublishError as refused:
            _log.warning("YouTube refused the thumbnail of %s: %s", video_id, refused)
            return 0, (f"thumbnail: {refused}",)
        return self._costs["thumbnails.set"], ()

    def _mark_done(self, state: dict[str, Any], step: str, checkpoint: Checkpoint) -> None:
        state["done"] = [*state["done"], step]
        checkpoint(dict(state))

    def _run(self, action: str, step: Callable[[], T]) -> T:
        """`step` with transient failures (5xx, rate limits, network) retried; others become typed errors."""
        failure = ""
        for attempt in range(self._max_retries + 1):
            if attempt:
                time.sleep(backoff_delay(attempt - 1, self._backoff_s))
            try:
                return step()
            except HttpError as err:
                if not _is_transient(err):
                    raise _refusal(err, action) from None
                failure = f"HTTP {err.resp.status}"
            except RefreshError:
                # Raised only after google-auth's own retries: the grant is revoked or the client is gone.
                raise ReconnectRequired(DISPLAY_NAME) from None
            except _TRANSPORT_ERRORS as err:
                failure = type(err).__name__
            _log.warning(
                "YouTube could not %s (%s); attempt %d of %d",
                action,
                failure,
                attempt + 1,
                self._max_retries + 1,
            )
        raise PublishError(
            f"YouTube kept failing to {action} ({failure}) after {self._max_retries + 1} attempts"
        )


def _discovery_document(root_url: str | None) -> str:
    document = json.loads(get_static_doc("youtube", "v3"))
    if root_url:
        root = root_url.rstrip("/") + "/"
        document["rootUrl"] = document["mtlsRootUrl"] = root
        document["baseUrl"] = root + document["servicePath"]
    return json.dumps(document)


def _alive(step: Callable[..., T], *args: Any) -> T:
    """`step`, with the upload session's own disappearance told apart from other HTTP errors."""
    try:
        return step(*args)
    except HttpError as err:
        if err.resp.status in _DEAD_SESSION_STATUSES:
            raise _SessionGone from None
        raise


def _unless_missing(request: HttpRequest) -> None:
    """Execute `request`, counting a 404 as done: deleting a video already gone is not a failure."""
    try:
        request.execute()
    except HttpError as err:
        if err.resp.status != 404:
            raise


def _error_detail(err: HttpError) -> tuple[str, str]:
    """(reason, message) from YouTube's JSON error body; empty strings when it has none."""
    try:
        error = json.loads(err.content)["error"]
        first = (error.get("errors") or [{}])[0]
        return str(first.get("reason", "")), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return "", ""


def _is_transient(err: HttpError) -> bool:
    reason, _ = _error_detail(err)
    return err.resp.status in _TRANSIENT_STATUSES or reason in _RATE_LIMIT_REASONS


def _refusal(err: HttpError, action: str) -> PublishError:
    reason, message = _error_detail(err)
    now = datetime.now(UTC)
    if reason == "quotaExceeded":
        return PublishParked(next_quota_reset(now), "YouTube's daily API quota is used up")
    if reason == "uploadLimitExceeded":
        return PublishParked(now + UPLOAD_LIMIT_WAIT, "the channel reached YouTube's daily upload limit")
    if err.resp.status == 401:
        return ReconnectRequired(DISPLAY_NAME)
    detail = message or reason or f"HTTP {err.resp.status}"
    return PublishError(f"YouTube refused to {action}: {detail}")
