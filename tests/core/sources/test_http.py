"""The shared HTTP plumbing: how long retries wait, and what the HTTP libraries may log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from leap_core.errors import ValidationError
from leap_core.sources.http import RetryPolicy, endpoint


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [
        (1, None, 0.5),
        (3, None, 2.0),
        (8, None, 30.0),
        (1, "7", 7.0),
        (1, "3600", 30.0),
        (2, "soon", 1.0),
        (1, "Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
    ids=[
        "first backoff",
        "doubling",
        "backoff capped",
        "seconds",
        "seconds capped",
        "garbage",
        "date passed",
    ],
)
def test_retry_waits_follow_retry_after_else_back_off_exponentially_always_capped(
    attempt: int, retry_after: str | None, expected: float
) -> None:
    assert RetryPolicy(backoff_s=0.5, max_wait_s=30).wait_s(attempt, retry_after) == expected


def test_a_retry_after_date_in_the_future_is_waited_for() -> None:
    in_ten_minutes = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)

    assert RetryPolicy(max_wait_s=30).wait_s(1, in_ten_minutes) == 30.0
    assert 0 < RetryPolicy(max_wait_s=3600).wait_s(1, in_ten_minutes) <= 600


def test_a_policy_without_attempts_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        RetryPolicy(attempts=0)


def test_an_endpoint_override_must_be_an_http_url() -> None:
    assert endpoint("http://127.0.0.1:8080/v2/", "https://api.zoom.us/v2") == "http://127.0.0.1:8080/v2"
    assert endpoint(None, "https://api.zoom.us/v2") == "https://api.zoom.us/v2"
    with pytest.raises(ValidationError, match=r"'api\.zoom\.us/v2' is not an http"):
        endpoint("api.zoom.us/v2", "https://api.zoom.us/v2")
