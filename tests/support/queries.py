"""Counting the SQL statements a call sends: how the tests hold bulk operations to a constant number."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from leap_core.api import Leap


@contextmanager
def counted_queries(leap: Leap) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(leap.db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(leap.db.engine, "before_cursor_execute", count)
