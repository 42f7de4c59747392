"""One way to build an OpenAI client and one way to turn its failures into a stage error.

Both speech stages that can call OpenAI (transcribe, topics) need the same two things: an SDK client
with an explicit timeout and retry budget (the SDK itself retries 408/409/429/5xx with backoff and
honours Retry-After), and an error message a person can act on that never repeats a key.
"""

from __future__ import annotations

import re

import openai

from leap_core.errors import StageError

_KEY_LIKE = re.compile(r"\b(sk|sess|key)-[A-Za-z0-9_\-*]{4,}")


def make_client(api_key: str | None, base_url: str | None, timeout: float, max_retries: int,
                stage: str) -> openai.OpenAI:
    """`api_key=None` means the SDK's own `OPENAI_API_KEY`; `base_url=None` means OpenAI's real address."""
    try:
        return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
    except openai.OpenAIError:
        raise StageError(stage, "no OpenAI API key: set OPENAI_API_KEY or configure one") from None


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.response.reason_phrase or "no details"


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]


def redact(text: str, secret: str | None) -> str:
    """Servers echo keys back in error bodies ("Incorrect API key provided: sk-…"); none reaches a log."""
    if secret:
        text = text.replace(secret, "***")
    return _KEY_LIKE.sub("***", text)


def stage_error(stage: str, exc: openai.OpenAIError, what: str, secret: str | None) -> StageError:
    """A one-line reason for `what` (e.g. "chunk 3 of 12") failing, by kind of failure."""
    if isinstance(exc, openai.AuthenticationError):
        return StageError(stage, f"OpenAI rejected the API key ({exc.status_code}) while sending {what}")
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 413:
            return StageError(stage, f"OpenAI refused {what} as too large (413): lower the chunk size limit")
        detail = _first_line(redact(_server_message(exc), secret))
        return StageError(stage, f"OpenAI API error {exc.status_code} on {what}: {detail}")
    if isinstance(exc, openai.APITimeoutError):
        return StageError(stage, f"OpenAI API timed out on {what} (after retries)")
    if isinstance(exc, openai.APIConnectionError):
        return StageError(stage, f"cannot reach the OpenAI API for {what} (after retries)")
    detail = _first_line(redact(str(exc), secret))
    return StageError(stage, f"OpenAI client error on {what}: {detail}")
