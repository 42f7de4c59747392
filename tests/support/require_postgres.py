"""Fail fast (exit 1, one line) when the PostgreSQL the suite needs is not reachable: never a skip."""

from __future__ import annotations

import os
import sys

from sqlalchemy import create_engine, text


def main() -> None:
    url = os.environ.get("LEAP_TEST_DATABASE_URL")
    if not url:
        sys.exit("LEAP_TEST_DATABASE_URL is not set: the tests need a real PostgreSQL")
    try:
        with create_engine(url).connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:
        sys.exit(f"PostgreSQL at LEAP_TEST_DATABASE_URL is not reachable: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
