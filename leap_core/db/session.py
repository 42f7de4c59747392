"""The engine and sessions, plus applying migrations.

One `Database` per process and URL: SQLite gets WAL, foreign keys and a busy timeout so the sensor
daemon, run workers and the CLI can share the embedded file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from leap_core.db import schema
from leap_core.db.schema import UpgradeResult

if TYPE_CHECKING:  # alembic is imported only to migrate: keeps Dagster run-worker start-up fast
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def upgrade(self, revision: str = "head") -> UpgradeResult:
        """Migrate under the migration lock (leap_core.db.schema): concurrent callers migrate once, in turn."""
        return schema.upgrade(self.engine, self.url, revision)

    def require_head(self) -> None:
        """SchemaError ("run `leap db upgrade`") unless the schema is the one this code expects."""
        schema.require_head(self.engine)

    def prepare(self, embedded: bool) -> None:
        """What a process does on start: the embedded default upgrades itself (locked); others only check."""
        if embedded:
            if schema.current_revisions(self.engine) != schema.head_revisions():
                self.upgrade()
        else:
            self.require_head()

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
