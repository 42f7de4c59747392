"""Helpers the source tests share: a settable clock, recorded retry waits, secret-leak checks, and a
deterministic interleaving of two registrations."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from leap_core.sources.http import RetryPolicy


@dataclass
class Clock:
    now: datetime = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class RecordedWaits:
    """Retry waits are recorded rather than slept, so tests check the policy without spending time."""

    waits: list[float] = field(default_factory=list)

    def policy(self, attempts: int = 3, max_wait_s: float = 30.0) -> RetryPolicy:
        return RetryPolicy(attempts=attempts, backoff_s=0.5, max_wait_s=max_wait_s, sleep=self.waits.append)


def assert_clean_one_liner(message: str, *secrets: str) -> None:
    """What every user-facing error must be: one non-empty line with no secret in it."""
    assert message
    assert "\n" not in message
    for secret in secrets:
        assert secret not in message


def assert_not_logged(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    for record in caplog.records:
        text = record.getMessage()
        for secret in secrets:
            assert secret not in text, f"{record.name} logged a secret"


KNOWN_FILES_QUERY = "SELECT recordings.source_file_id"
"""How `sync._known_file_ids` (the existence check before registering) starts: where a race is forced."""


@dataclass
class Interleaving:
    ran: bool = False
    errors: list[BaseException] = field(default_factory=list)


@contextmanager
def between_check_and_insert(engine: Engine, other: Callable[[], Any]) -> Iterator[Interleaving]:
    """Right after the first existence check of a registration, run `other` to completion in a second
    thread (its own connection and unit of work), then let the first registration go on.

    This is the race of a webhook and a sync seeing the same new file, made deterministic: the first one
    has checked ("not known") and is about to insert when the second one commits the same file.
    """
    outcome = Interleaving()
    fired = threading.Lock()

    def run_other() -> None:
        try:
            other()
        except BaseException as exc:  # reported to the test, which asserts there is none
            outcome.errors.append(exc)

    def after(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().startswith(KNOWN_FILES_QUERY) and fired.acquire(blocking=False):
            thread = threading.Thread(target=run_other)
            thread.start()
            thread.join(timeout=120)
            outcome.ran = not thread.is_alive()

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield outcome
    finally:
        event.remove(engine, "after_cursor_execute", after)
