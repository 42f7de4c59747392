"""What a user may read about their own consumption: this month's usage and their statistics.

Kept apart from `UserAPI` so that class stays a thin list of delegations; every query here is filtered
by the one user id it is given, so it can never show another tenant's numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leap_core import stats, usage
from leap_core.db.session import Database
from leap_core.quotas import effective_quotas


def usage_report(db: Database, user_id: str, period: str | None = None) -> dict[str, Any]:
    """The period's usage (this month by default) beside the limits it counts against."""
    with db.session() as session:
        return {**usage.usage_of(session, user_id, period).as_dict(),
                "quotas": effective_quotas(session, user_id).as_dict()}


def user_stats(db: Database, user_id: str, since: datetime | None = None,
               until: datetime | None = None) -> stats.UserStats:
    with db.session() as session:
        return stats.user_stats(session, user_id, stats.DateRange(since, until))
