"""Re-attaching a new process to an existing YouTube resumable-upload session.

google-api-python-client resumes an upload only within one `HttpRequest` object; it has no public way
to continue a session started by a crashed process. This adapter does the one step it lacks — ask the
server how many bytes the stored session already holds and position the request there — using the
library's own response handling, so that its chunk loop then continues as if it had never stopped.

It touches `HttpRequest._process_response`, a private method. `ADAPTED_VERSION` names the release it was
checked against; a test fails when the installed library differs, so an upgrade re-checks this file.
"""

from __future__ import annotations

from typing import Any

from googleapiclient.http import HttpRequest

from leap_core.publishing.base import PublishError

ADAPTED_VERSION = "2.202.0"


def attach_session(request: HttpRequest, session_uri: str, size: int) -> Any | None:
    """Point `request` at `session_uri` at the offset the server reports.

    Returns the finished upload's response body when the server already holds every byte (the crash came
    after the last chunk), else None with `request.resumable_progress` at the server's offset. A dead
    session raises the library's `HttpError` (404 or 410), a transient failure its `HttpError` (5xx).
    """
    if not callable(getattr(request, "_process_response", None)):
        raise PublishError(
            "the installed google-api-python-client cannot resume uploads the way LEAP expects "
            f"(LEAP was checked against {ADAPTED_VERSION})"
        )
    request.resumable_uri = session_uri
    # The probe the library itself sends after an interrupted chunk: an empty PUT asking for the range.
    resp, content = request.http.request(
        session_uri, "PUT", headers={"Content-Range": f"bytes */{size}", "Content-Length": "0"}
    )
    _, body = request._process_response(resp, content)
    return body
