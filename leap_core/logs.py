"""Logging set-up for LEAP's own processes: text for people, JSON (`LEAP_LOG_FORMAT=json`) for collectors.

Credentials never reach a log line: the platform clients keep tokens out of their messages, and the
redacting filter installed here scrubs any secret value registered with it as a second line of defence.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(settings: Settings, level: int = logging.WARNING) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(REDACTOR)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("leap_core")
    root.handlers = [handler]
    root.setLevel(level)
