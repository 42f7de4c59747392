"""The shipped Alembic migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from leap_core.db import models  # noqa: F401  (registers every table)
from leap_core.db.base import Base
from leap_core.db.session import Database, alembic_config
from leap_core.search.schema import is_raw_sql_search_object


def _modelled(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Everything but the search migration's raw-SQL full-text objects (listed in leap_core.search.schema)."""
    table = getattr(getattr(obj, "table", None), "name", None)
    return not is_raw_sql_search_object(name, type_, table)


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    db = Database(database_url)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _modelled})
        assert compare_metadata(context, Base.metadata) == []
    db.dispose()


def test_every_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    command.downgrade(alembic_config(database_url), "base")
    db = Database(database_url)
    db.upgrade()
    with db.engine.connect() as connection:
        head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
        assert MigrationContext.configure(connection).get_current_revision() == head
    db.dispose()
