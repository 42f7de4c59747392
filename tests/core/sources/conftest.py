"""Fixtures for the source tests: a fake HTTP server, a settable clock and recorded retry waits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.core.sources.support import Clock, RecordedWaits
from tests.fakes.http_server import FakeHTTPServer, fake_http_server


@pytest.fixture
def server() -> Iterator[FakeHTTPServer]:
    yield from fake_http_server()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def waits() -> RecordedWaits:
    return RecordedWaits()
