"""LEAP's logging: credentials in URL queries never reach a log line, whichever HTTP client logs it."""

from __future__ import annotations

import logging

import pytest

from leap_core.logs import RedactUrlQueries


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
