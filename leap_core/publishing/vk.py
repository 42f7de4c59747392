"""VK target over vk-api: `video.save` through the library, the file itself streamed by LEAP.

vk-api's `VkUpload` reads the whole video into memory, so LEAP posts the file from disk as a streamed
multipart body instead. VK has no resumable uploads: a run that died after `video.save` but before the
file landed deletes that empty video slot and starts over, and a video already uploaded is never sent again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests_toolbelt import MultipartEncoder
from vk_api import VkApi
from vk_api.exceptions import ApiError, ApiHttpError

from leap_core.publishing.base import (
    Checkpoint,
    HumanActionRequired,
    PublishError,
    PublishParked,
    PublishRequest,
    PublishResult,
    ReconnectRequired,
    backoff_delay,
)
from leap_core.publishing.metadata import fit

PLATFORM = "vk"
DISPLAY_NAME = "VK"
API_VERSION = "5.199"
# The hosts vk-api sends method calls to (it moved from api.vk.com to api.vk.ru in 11.10).
API_HOSTS = ("https://api.vk.ru/", "https://api.vk.com/")
FLOOD_WAIT = timedelta(hours=1)
CONNECT_TIMEOUT_S = 30.0
_RATE_LIMIT_CODES = frozenset({6, 9})
_AUTH_CODE = 5
_CAPTCHA_CODE = 14
_VALIDATION_CODE = 17
_PRIVACY_VIEW = {"public": "all", "private": "only_me"}
# `video.save` takes only a user token with the video right (dev.vk.com/method/video.save); a community
# token calling a user method gets error 27.
_GROUP_AUTH_CODE = 27
VIDEO_RIGHT = 1 << 4

_log = logging.getLogger(__name__)


class _ApiHostAdapter(HTTPAdapter):
    """Sends calls addressed to VK's API host to `api_url` instead (a proxy, a regional host, a fake)."""

    def __init__(self, host: str, api_url: str) -> None:
        super().__init__()
        self._host = host
        self._target = api_url.rstrip("/") + "/"

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if request.url and request.url.startswith(self._host):
            request.url = self._target + request.url[len(self._host) :]
        return super().send(request, *args, **kwargs)


def _session(api_url: str | None) -> requests.Session:
    session = requests.Session()
    if api_url:
        for host in API_HOSTS:
            session.mount(host, _ApiHostAdapter(host, api_url))
    return session


class UnfitToken(ReconnectRequired):
    """VK accepts the token, but not for uploading videos: only a new token of the right kind helps."""

    def __init__(self, reason: str) -> None:
        self.platform = DISPLAY_NAME
        PublishError.__init__(self, f"{DISPLAY_NAME}: {reason}; reconnect with a user token that has the video right")


class VkPublisher:
    """Publishes to a VK user's or community's videos with a stored access token (see `base`)."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str | None = None,
        group_id: int | None = None,
        album_id: int | None = None,
        privacy: str | None = None,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        upload_timeout_s: float = 600.0,
    ) -> None:
        if not token:
            raise ReconnectRequired(DISPLAY_NAME)
        self._session = _session(api_url)
        self._vk = VkApi(token=token, session=self._session, api_version=API_VERSION)
        # vk-api's own handlers sleep and retry forever (6) or swallow (17); LEAP decides instead.
        self._vk.error_handlers = {}
        self._group_id = group_id
        self._album_id = album_id
        self._privacy = privacy
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._upload_timeout_s = upload_timeout_s

    def publish(
        self, req: PublishRequest, *, resume_state: dict[str, Any] | None, checkpoint: Checkpoint
    ) -> PublishResult:
        state = resume_state or {}
        if state.get("phase") == "uploaded":
            return self._result(str(state["owner_id"]), str(state["video_id"]), 0)
        if state.get("phase") == "saved":
            self._discard_slot(str(state["owner_id"]), str(state["video_id"]))
        slot = self._call("video.save", self._save_params(req))
        ids = {"owner_id": slot["owner_id"], "video_id": slot["video_id"]}
        checkpoint({"phase": "saved", **ids})
        sent = self._upload(slot["upload_url"], req)
        checkpoint({"phase": "uploaded", **ids})
        return self._result(str(slot["owner_id"]), str(slot["video_id"]), sent)

    def check_health(self) -> None:
        """Ask VK what the token may do, so a dead or unfit token is found before a scheduled upload.

        Raises ReconnectRequired (expired or revoked, error 5), UnfitToken (a community token, or a user
        token without the video right), or PublishError when VK could not be asked (nothing is known then).
        """
        try:
            rights = int(self._vk.method("account.getAppPermissions"))
        except ApiError as err:
            if err.code == _GROUP_AUTH_CODE:
                raise UnfitToken("this is a community token, and VK uploads videos only with a user token") from None
            raise _refusal("account.getAppPermissions", err.error) from None
        except ApiHttpError as err:
            raise PublishError(f"could not ask VK about the token (HTTP {err.response.status_code})") from None
        except requests.RequestException as err:
            raise PublishError(f"could not ask VK about the token ({_describe(err)})") from None
        if not rights & VIDEO_RIGHT:
            raise UnfitToken("the token lacks the video right")

    def update_metadata(self, video_id: str, req: PublishRequest) -> None:
        """`video.edit` names the description `desc` (`video.save` says `description`, and VK ignores
        parameters it does not know, so the wrong name silently kept the old description)."""
        owner_id, vid = _split(video_id)
        saved = self._save_params(req)
        params = {k: v for k, v in saved.items() if k not in {"group_id", "album_id", "wallpost", "description"}}
        self._call("video.edit", {**params, "desc": saved["description"], "owner_id": owner_id, "video_id": vid})

    def delete(self, video_id: str) -> None:
        owner_id, vid = _split(video_id)
        self._call("video.delete", {"owner_id": owner_id, "video_id": vid})

    def _save_params(self, req: PublishRequest) -> dict[str, Any]:
        fitted = fit(PLATFORM, req.title, req.description, req.chapters)
        params: dict[str, Any] = {
            "name": fitted.title,
            "description": fitted.description,
            "wallpost": 0,
        }
        if self._group_id is not None:
            params["group_id"] = self._group_id
        if self._album_id is not None:
            params["album_id"] = self._album_id
        privacy_view = self._privacy or _PRIVACY_VIEW.get(req.privacy_status)
        if privacy_view and self._group_id is None:  # community videos follow the community's settings
            params["privacy_view"] = privacy_view
        return params

    def _discard_slot(self, owner_id: str, video_id: str) -> None:
        """Remove the empty video an interrupted run created, so the retry leaves no orphan behind."""
        try:
            self._call("video.delete", {"owner_id": owner_id, "video_id": video_id})
        except PublishError as err:
            _log.info("could not remove the empty VK video slot from an interrupted upload: %s", err)

    def _upload(self, upload_url: str, req: PublishRequest) -> int:
        size = req.video_path.stat().st_size
        failure = ""
        for attempt in range(self._max_retries + 1):
            if attempt:
                time.sleep(backoff_delay(attempt - 1, self._backoff_s))
            try:
                return self._post_file(upload_url, req, size)
            except requests.RequestException as err:
                failure = _describe(err)
            _log.warning(
                "VK upload failed (%s); attempt %d of %d", failure, attempt + 1, self._max_retries + 1
            )
        raise PublishError(
            f"VK kept failing to receive the video ({failure}) after {self._max_retries + 1} attempts"
        )

    def _post_file(self, upload_url: str, req: PublishRequest, size: int) -> int:
        with req.video_path.open("rb") as stream:
            body = MultipartEncoder({"video_file": (req.video_path.name, stream, "video/mp4")})
            response = self._session.post(
                upload_url,
                data=body,
                headers={"Content-Type": body.content_type},
                timeout=(CONNECT_TIMEOUT_S, self._upload_timeout_s),
            )
        response.raise_for_status()
        answer = response.json()
        if "error" in answer:
            raise PublishError(f"VK refused the video file: {answer.get('error_msg') or answer['error']}")
        return size

    def _call(self, method: str, params: Mapping[str, Any]) -> Any:
        """One API call, with rate limits (6, 9) and 5xx retried; other errors become typed errors."""
        failure, code = "", 0
        for attempt in range(self._max_retries + 1):
            if attempt:
                time.sleep(backoff_delay(attempt - 1, self._backoff_s))
            try:
                return self._vk.method(method, dict(params))
            except ApiError as err:
                if err.code not in _RATE_LIMIT_CODES:
                    raise _refusal(method, err.error) from None
                failure, code = f"error {err.code}", err.code
            except ApiHttpError as err:
                failure = f"HTTP {err.response.status_code}"
            except requests.RequestException as err:
                failure = _describe(err)
            _log.warning(
                "VK %s failed (%s); attempt %d of %d", method, failure, attempt + 1, self._max_retries + 1
            )
        if code in _RATE_LIMIT_CODES:
            raise PublishParked(datetime.now(UTC) + FLOOD_WAIT, f"VK flood control on {method}")
        raise PublishError(f"VK kept failing {method} ({failure}) after {self._max_retries + 1} attempts")

    @staticmethod
    def _result(owner_id: str, video_id: str, sent: int) -> PublishResult:
        full_id = f"{owner_id}_{video_id}"
        return PublishResult(PLATFORM, full_id, f"https://vk.com/video{full_id}", sent, 0, 0)


def _split(video_id: str) -> tuple[str, str]:
    owner_id, _, vid = video_id.partition("_")
    if not vid:
        raise PublishError(f"not a VK video id (expected owner_video): {video_id!r}")
    return owner_id, vid


def _describe(err: requests.RequestException) -> str:
    """The failure's kind and status, never its URL (upload URLs carry VK's signed parameters)."""
    status = err.response.status_code if err.response is not None else None
    return f"HTTP {status}" if status else type(err).__name__


def _refusal(method: str, error: Mapping[str, Any]) -> PublishError:
    code = error.get("error_code")
    if code == _AUTH_CODE:
        return ReconnectRequired(DISPLAY_NAME)
    if code == _CAPTCHA_CODE:
        where = error.get("redirect_uri") or error.get("captcha_img") or "https://vk.com"
        return HumanActionRequired(str(where), "VK asks for a captcha")
    if code == _VALIDATION_CODE:
        return HumanActionRequired(
            str(error.get("redirect_uri", "https://vk.com")), "VK asks to validate the account"
        )
    return PublishError(f"VK refused {method}: {error.get('error_msg', 'unknown error')} (error {code})")
