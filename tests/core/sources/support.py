"""Helpers the source tests share: a settable clock, recorded retry waits, and secret-leak checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

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
