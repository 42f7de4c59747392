"""Fresh databases per test: SQLite files, and PostgreSQL databases cloned from a migrated template.

Cloning a template (`CREATE DATABASE … TEMPLATE`) costs a fraction of running the migrations again,
so every PostgreSQL test still starts from an empty, fully migrated schema of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from leap_core.db.session import Database


def postgres_base_url() -> str:
    url = os.environ.get("LEAP_TEST_DATABASE_URL")
    if not url:
        raise RuntimeError("LEAP_TEST_DATABASE_URL is not set: run the suite with ./scripts/test")
    return url


def _admin_execute(statement: str) -> None:
    engine = create_engine(postgres_base_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def _url_for(name: str) -> str:
    return make_url(postgres_base_url()).set(database=name).render_as_string(hide_password=False)


@contextmanager
def postgres_template() -> Iterator[str]:
    """A migrated database to clone from, one per test process."""
    name = f"leap_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _admin_execute(f"CREATE DATABASE {name}")
    db = Database(_url_for(name))
    db.upgrade()
    db.dispose()
    try:
        yield name
    finally:
        _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def postgres_clone(template: str) -> Iterator[str]:
    name = f"leap_t_{uuid.uuid4().hex[:12]}"
    _admin_execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield _url_for(name)
    finally:
        _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
