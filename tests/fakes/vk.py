"""A fake VK API (`/method/...`) and video upload host on 127.0.0.1, reached by vk-api and requests.

The upload body is streamed into a counter (and kept only when small), so the same fake serves
multi-GB benchmark uploads with flat memory. `fail(method, code, after=, times=, **extra)` scripts VK
errors (6 rate, 9 flood, 14 captcha, 17 validation, 5 auth); `revoke()` makes every call answer error 5.
The token is a user token with `rights` (VK's bit mask, video included by default; `account.getAppPermissions`
returns it, video methods need its video bit); `use_community_token()` turns it into a community token,
which VK refuses on user methods with error 27.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.youtube import LoopbackServer, Reply, ServedFake, read_body, stream_body

KEPT_BODY_LIMIT = 16 * 1024 * 1024
OWNER_ID = 424242
VIDEO, OFFLINE, GROUPS = 1 << 4, 1 << 16, 1 << 18
USER_METHODS = frozenset({"account.getAppPermissions", "video.save", "video.edit", "video.delete"})


@dataclass
class _Failure:
    code: int
    after: int
    times: int
    extra: dict[str, Any]


class FakeVK(ServedFake):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(456239001)
        self._server = LoopbackServer(self._dispatch)
        self._failures: dict[str, list[_Failure]] = {}
        self.token = "vk1.a.fake-vk-access-token-value-for-tests"
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.videos: dict[str, dict[str, Any]] = {}
        self.uploads: list[dict[str, Any]] = []
        self.bytes_received = 0
        self.rights = VIDEO | OFFLINE | GROUPS
        self.community_token = False
        self._upload_failures: list[int] = []

    @property
    def url(self) -> str:
        return self._server.url

    def fail(self, method: str, code: int, *, after: int = 0, times: int = 1, **extra: Any) -> None:
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(code, after, times, extra))

    def fail_upload(self, status: int, times: int = 1) -> None:
        """The upload host answers the next `times` uploads with `status` after reading the body."""
        with self._lock:
            self._upload_failures.extend([status] * times)

    def revoke(self) -> None:
        self.token = "revoked"

    def use_community_token(self) -> None:
        self.community_token = True

    def calls_to(self, method: str) -> list[dict[str, str]]:
        return [params for name, params in self.calls if name == method]

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> Reply:
        parts = urlsplit(handler.path)
        if parts.path == "/upload/video":
            return self._receive(handler, parse_qs(parts.query)["vid"][0])
        params = {k: v[0] for k, v in parse_qs(read_body(handler).decode()).items()}
        method = parts.path.removeprefix("/method/")
        with self._lock:
            self.calls.append((method, params))
        if params.get("access_token") != self.token:
            return _error(5, "User authorization failed: invalid access_token (4).")
        if params.get("v") != "5.199":
            return _error(8, "Invalid request: unexpected API version")
        failure = self._failed(method)
        if failure:
            return _error(failure.code, f"scripted error {failure.code}", **failure.extra)
        refusal = self._refused(method)
        if refusal:
            return refusal
        answer = {
            "account.getAppPermissions": self._app_permissions,
            "video.save": self._save,
            "video.edit": self._edit,
            "video.delete": self._delete,
        }.get(method)
        return answer(params) if answer else _error(3, "Unknown method passed")

    def _refused(self, method: str) -> Reply | None:
        """VK's answer when the token is of the wrong kind, or lacks the right, for `method`."""
        if self.community_token and method in USER_METHODS:
            return _error(27, "Group authorization failed: method is unavailable with group auth.")
        if method.startswith("video.") and not self.rights & VIDEO:
            return _error(15, "Access denied: no access to call this method")
        return None

    def _app_permissions(self, params: dict[str, str]) -> Reply:
        return Reply.json({"response": self.rights})

    def _failed(self, method: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures.get(method, []):
                if failure.after:
                    failure.after -= 1
                    return None
                if failure.times:
                    failure.times -= 1
                    return failure
        return None

    def _save(self, params: dict[str, str]) -> Reply:
        video_id = str(next(self._ids))
        owner_id = -int(params["group_id"]) if "group_id" in params else OWNER_ID
        with self._lock:
            self.videos[f"{owner_id}_{video_id}"] = {**params, "uploaded": 0}
        upload_url = f"{self.url}/upload/video?vid={owner_id}_{video_id}&hash=signed-upload-hash"
        return Reply.json(
            {
                "response": {
                    "upload_url": upload_url,
                    "video_id": int(video_id),
                    "owner_id": owner_id,
                    "title": params.get("name", ""),
                    "access_key": "fake-access-key",
                }
            }
        )

    def _edit(self, params: dict[str, str]) -> Reply:
        video = self.videos.get(f"{params['owner_id']}_{params['video_id']}")
        if video is None:
            return _error(100, "One of the parameters specified was missing or invalid: video not found")
        # Like VK, `video.edit` takes the description as `desc` and ignores parameters it does not know.
        video.update({k: v for k, v in params.items() if k in {"name", "privacy_view"}})
        if "desc" in params:
            video["description"] = params["desc"]
        return Reply.json({"response": 1})

    def _delete(self, params: dict[str, str]) -> Reply:
        with self._lock:
            found = self.videos.pop(f"{params['owner_id']}_{params['video_id']}", None)
        return Reply.json({"response": 1}) if found else _error(15, "Access denied: video not found")

    def _receive(self, handler: BaseHTTPRequestHandler, full_id: str) -> Reply:
        kept = bytearray()
        size = int(handler.headers.get("Content-Length") or 0)
        keep = size <= KEPT_BODY_LIMIT
        received = stream_body(handler, kept.extend if keep else lambda block: None)
        with self._lock:
            status = self._upload_failures.pop(0) if self._upload_failures else 200
            self.bytes_received += received
            self.uploads.append(
                {
                    "video": full_id,
                    "bytes": received,
                    "body": bytes(kept) if keep else None,
                    "content_type": handler.headers.get("Content-Type", ""),
                    "status": status,
                }
            )
            if status != 200:
                return Reply.json({"error": "upload failed"}, status)
            video = self.videos.get(full_id)
            if video is not None:
                video["uploaded"] += received
        owner_id, _, video_id = full_id.partition("_")
        return Reply.json(
            {"video_id": int(video_id), "owner_id": int(owner_id), "size": received, "video_hash": "fakehash"}
        )


def _error(code: int, message: str, **extra: Any) -> Reply:
    return Reply.json({"error": {"error_code": code, "error_msg": message, "request_params": [], **extra}})
