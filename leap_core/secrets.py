"""Encryption of stored platform credentials, and the guards that keep them out of logs.

Credentials (OAuth tokens, VK access tokens) are stored as one Fernet token per account. `LEAP_SECRET_KEY`
holds one or more keys, newest first: the newest encrypts, every key decrypts, so an operator can add a
new key, re-encrypt at leisure with `rotate`, and only then drop the old one.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from leap_core.errors import LeapError

REDACTED = "…"
_SHOWN_TAIL = 4
# Below this length even four characters are too large a share of the secret to show.
_MIN_LENGTH_TO_SHOW_TAIL = 16
# Shorter values are too likely to occur in ordinary log text to be scrubbed safely.
_MIN_REGISTERED_LENGTH = 6


class SecretKeyError(LeapError):
    """`LEAP_SECRET_KEY` is missing or wrong, or a stored credential no longer matches any key."""


class SecretBox:
    """Encrypts credential mappings with the newest key and decrypts with any configured key."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretKeyError(
                "LEAP_SECRET_KEY is not set: generate one with `python -c "
                '"from leap_core.secrets import SecretBox; print(SecretBox.generate_key())"`'
            )
        self._fernet = MultiFernet([_fernet(key, position) for position, key in enumerate(keys, start=1)])

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")

    def encrypt(self, data: Mapping[str, str]) -> bytes:
        return self._fernet.encrypt(json.dumps(dict(data), sort_keys=True).encode("utf-8"))

    def decrypt(self, token: bytes) -> dict[str, str]:
        try:
            plain = self._fernet.decrypt(token)
        except InvalidToken:
            raise SecretKeyError(_UNDECRYPTABLE) from None
        data = json.loads(plain)
        return {str(k): str(v) for k, v in data.items()}

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt under the newest key, so the older keys can be retired afterwards."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise SecretKeyError(_UNDECRYPTABLE) from None


_UNDECRYPTABLE = (
    "a stored credential cannot be decrypted with any key in LEAP_SECRET_KEY "
    "(was the key it was encrypted with removed?)"
)


def _fernet(key: str, position: int) -> Fernet:
    try:
        return Fernet(key.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        # The key itself must not reach the message: only its position in the list does.
        raise SecretKeyError(
            f"LEAP_SECRET_KEY entry {position} is not a valid key (expected 32 url-safe base64-encoded bytes)"
        ) from None


def redact(value: str) -> str:
    """What a listing shows for a secret: enough of the tail to tell two accounts apart, no more."""
    if len(value) < _MIN_LENGTH_TO_SHOW_TAIL:
        return REDACTED
    return REDACTED + value[-_SHOWN_TAIL:]


class SecretRedactingFilter(logging.Filter):
    """Scrubs registered secret values from log records, in case one slips into a message or traceback.

    Attach it to handlers (a logger's own filters do not see records propagated from child loggers).
    It is a second line of defence: LEAP code never logs a secret in the first place.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self.register(*secrets)

    def register(self, *secrets: str) -> None:
        with self._lock:
            self._secrets = self._secrets | {s for s in secrets if len(s) >= _MIN_REGISTERED_LENGTH}

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        if not secrets:
            return True
        message = record.getMessage()
        scrubbed = self._scrub(message, secrets)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text, secrets)
        return True

    @staticmethod
    def _scrub(text: str, secrets: frozenset[str]) -> str:
        # Longest first, so a secret containing another is replaced whole.
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text
