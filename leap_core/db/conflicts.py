"""INSERT … ON CONFLICT DO NOTHING on both databases LEAP runs on.

SQLAlchemy has the statement only in its dialect modules (PostgreSQL and SQLite spell it the same), so
the writers that let a unique key decide a race (quota periods, notification idempotency keys, a file
registered by the sync and the webhook at once) build it here rather than each picking the dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_or_skip(session: Session, model: Any, conflict_columns: Sequence[str]) -> Any:
    """`model`'s INSERT that does nothing where a row with the same `conflict_columns` (a unique key) exists."""
    module: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(model).on_conflict_do_nothing(index_elements=list(conflict_columns))
