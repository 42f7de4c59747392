"""Logging set-up for LEAP's own processes: text for people, JSON (`LEAP_LOG_FORMAT=json`) for collectors.

Every LEAP process configures it the same way: the `leap` CLI in `main()`, and the Dagster code
server, run workers and the sensors they evaluate when `leap_dagster.definitions` loads. Credentials
never reach a log line: the platform clients keep tokens out of their messages, and the redacting
filter installed here scrubs any secret value registered with it (stored credentials as they are
decrypted, the settings' own secrets at set-up) as a second line of defence. Lines written while a
stage runs carry the recording and run ids (`log_context`), so one recording's story can be grepped
from a collector.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from urllib.parse import urlsplit

from leap_core.config import Settings
from leap_core.secrets import SecretRedactingFilter

REDACTOR = SecretRedactingFilter()
_URL_QUERY = re.compile(r"(https?://[^\s'\"?#]+)\?[^\s'\"#]*")
HTTP_LIBRARY_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy")


class RedactUrlQueries(logging.Filter):
    """Cuts the query off every URL in httpx/httpcore log lines.

    httpx logs each request URL at INFO and httpcore each response header (Location included) at DEBUG;
    signed download links (Yandex, Zoom's CDN) carry their credential in the query.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _URL_QUERY.sub(r"\1?[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _redact_http_library_logs() -> None:
    for name in HTTP_LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactUrlQueries) for existing in logger.filters):
            logger.addFilter(RedactUrlQueries())


# Installed on import (from here rather than `sources.http`, which loads httpx only when a source is used),
# so it is in place before any httpx client (sources, webhooks, the OpenAI SDK) logs a request.
_redact_http_library_logs()


_IDS: ContextVar[dict[str, str]] = ContextVar("leap_log_ids", default={})  # noqa: B039 (never mutated)
LEAP_LOGGERS = ("leap_core", "leap_dagster")


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Every LEAP log line written inside the block (same thread or task) carries these ids."""
    token = _IDS.set({**_IDS.get(), **{k: v for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _IDS.reset(token)


class ContextIds(logging.Filter):
    """Copies the ids of `log_context` onto the record (`record.leap_ids`), for both formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.leap_ids = _IDS.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "leap_ids", {}),
        }
        if record.exc_info:  # the redacting filter left a scrubbed exc_text; never format the raw one again
            payload["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = getattr(record, "leap_ids", {})
        if not ids:
            return line
        first, newline, rest = line.partition("\n")
        return first + " [" + " ".join(f"{k}={v}" for k, v in ids.items()) + "]" + newline + rest


def _settings_secrets(settings: Settings) -> list[str]:
    """The secrets the process knows from its own settings: keys, the SMTP password, passwords in URLs."""
    urls = (settings.database_url, settings.celery_broker, settings.celery_backend)
    passwords = [urlsplit(url).password for url in urls if url]
    return [s for s in (*settings.secret_keys, settings.smtp_password, *passwords) if s]


class _LeapHandler(logging.StreamHandler):
    """Marks the handler this module installs, so configuring again replaces it instead of adding one."""


def configure_logging(settings: Settings, default_level: int = logging.WARNING) -> None:
    """Idempotent: LEAP's loggers get exactly one handler (stderr) with ids, redaction and the format.

    The level is LEAP_LOG_LEVEL, else `default_level` (WARNING for the CLI, INFO for Dagster processes).
    """
    REDACTOR.register(*_settings_secrets(settings))
    handler = _LeapHandler()
    handler.addFilter(ContextIds())
    handler.addFilter(REDACTOR)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    level = logging.getLevelName(settings.log_level) if settings.log_level else default_level
    for name in LEAP_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not isinstance(h, _LeapHandler)] + [handler]
        logger.setLevel(level)
