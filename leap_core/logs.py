"""Logging set-up for LEAP's own processes: text for people, JSON (`LEAP_LOG_FORMAT=json`) for collectors.

Credentials never reach a log line: the platform clients keep tokens out of their messages, and the
redacting filter installed here scrubs any secret value registered with it as a second line of defence.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from leap_core.config import Settings
from leap_core.secrets import SecretRedactingFilter

REDACTOR = SecretRedactingFilter()


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
