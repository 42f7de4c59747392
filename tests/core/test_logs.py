"""LEAP's logging: credentials in URL queries never reach a log line, whichever HTTP client logs it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from leap_core.config import Settings
from leap_core.logs import RedactUrlQueries, configure_logging, log_context
from leap_core.secrets import REDACTED


@pytest.fixture(autouse=True)
def _restore_leap_loggers() -> Iterator[None]:
    """configure_logging changes process-wide loggers; put them back for the tests that follow."""
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level)
             for name in ("leap_core", "leap_dagster")}
    yield
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers = handlers
        logger.setLevel(level)


@pytest.mark.parametrize(
    ("message", "args", "expected"),
    [
        (
            'HTTP Request: %s %s "%s %d %s"',
            ("GET", "https://downloader.disk.yandex.ru/disk/abc?sign=s3cr3t&uid=1", "HTTP/1.1", 200, "OK"),
            'HTTP Request: GET https://downloader.disk.yandex.ru/disk/abc?[redacted] "HTTP/1.1 200 OK"',
        ),
        (
            "receive_response_headers.complete return_value=(b'HTTP/1.1', 302, [(b'Location', b'https://cdn.zoom.us/r?sig=s3cr3t')])",
            None,
            "receive_response_headers.complete return_value=(b'HTTP/1.1', 302, [(b'Location', b'https://cdn.zoom.us/r?[redacted]')])",
        ),
        ("no url here: %d%%", (5,), "no url here: 5%"),
    ],
    ids=["httpx request line", "httpcore redirect header", "untouched"],
)
def test_http_library_log_lines_lose_their_url_queries(
    message: str, args: tuple[object, ...] | None, expected: str
) -> None:
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, message, args, None)

    assert RedactUrlQueries().filter(record)
    assert record.getMessage() == expected


def _emit(logger: logging.Logger, message: str, *args: object) -> str:
    """What LEAP's own handler writes for one record (formatted, filtered), without touching stderr."""
    (handler,) = [h for h in logging.getLogger("leap_core").handlers if isinstance(h, logging.StreamHandler)]
    record = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, message, args, None)
    assert handler.filter(record)
    return handler.format(record)


def test_configuring_twice_installs_one_handler_and_lines_carry_the_context_ids() -> None:
    configure_logging(Settings(log_format="text"))
    configure_logging(Settings(log_format="json", log_level="INFO"))
    assert len([h for h in logging.getLogger("leap_core").handlers if isinstance(h, logging.StreamHandler)]) == 1
    assert logging.getLogger("leap_dagster").level == logging.INFO
    logger = logging.getLogger("leap_core.pipeline")
    with log_context(recording_id="01REC", run_id="run-1"):
        inside = json.loads(_emit(logger, "trimmed %d cuts", 3))
    outside = json.loads(_emit(logger, "no run here"))
    assert (inside["message"], inside["recording_id"], inside["run_id"]) == ("trimmed 3 cuts", "01REC", "run-1")
    assert "recording_id" not in outside


def test_the_text_format_appends_the_ids_and_the_settings_secrets_are_redacted() -> None:
    configure_logging(Settings(log_format="text", smtp_password="smtp-secret-1234",
                               database_url="postgresql+psycopg://leap:db-pass-5678@db/leap"))
    logger = logging.getLogger("leap_core.notifications")
    with log_context(recording_id="01REC"):
        line = _emit(logger, "login as %s with %s to %s", "leap", "smtp-secret-1234", "db-pass-5678")
    assert line.endswith(f"login as leap with {REDACTED} to {REDACTED} [recording_id=01REC]")
