"""The shipped Alembic migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from leap_core.db import models  # noqa: F401  (registers every table)
from leap_core.db.base import Base
from leap_core.db.session import Database, alembic_config


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    db = Database(database_url)
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    db.dispose()


def test_every_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    command.downgrade(alembic_config(database_url), "base")
    db = Database(database_url)
    db.upgrade()
    with db.engine.connect() as connection:
        head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
        assert MigrationContext.configure(connection).get_current_revision() == head
    db.dispose()
