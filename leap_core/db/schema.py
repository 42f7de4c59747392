"""Which schema a database is at, and moving it to LEAP's head under a lock.

`leap init` and `leap db upgrade` are the places that migrate. They do it under a lock, so two
deployers (or two processes starting on one empty database) migrate it once, in turn: a PostgreSQL
session advisory lock, or a lock file beside the SQLite database. Every other process only checks that
the database is at head and refuses to start with "run `leap db upgrade`" — except on the embedded
default (no LEAP_DATABASE_URL), which must keep working from a bare `dagster dev`, and so upgrades
itself under the same lock (ADR 0028).

The check runs in every run worker, so it avoids importing Alembic (over a second on a loaded
machine): the head comes from reading the revision files, the current revision from `alembic_version`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from leap_core.errors import SchemaError

VERSIONS_DIR = Path(__file__).resolve().parent / "migrations" / "versions"
ADVISORY_LOCK_KEY = 0x4C454150_6462  # "LEAPdb": one lock per PostgreSQL database, held only while migrating
LOCK_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class UpgradeResult:
    before: tuple[str, ...]
    """The revisions the database was at (empty: a new database)."""
    after: tuple[str, ...]

    @property
    def applied(self) -> bool:
        return self.before != self.after


def _assigned(tree: ast.Module, name: str) -> object:
    """The literal a module assigns to `name` at top level (`revision = "0011"`, `down_revision: str = …`)."""
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(value)
    return None


@cache
def head_revisions() -> tuple[str, ...]:
    """The revisions no other revision builds on, read from the files (tests check Alembic agrees)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        revision, down = _assigned(tree, "revision"), _assigned(tree, "down_revision")
        if isinstance(revision, str):
            revisions.add(revision)
            parents.update([down] if isinstance(down, str) else list(down) if isinstance(down, tuple) else [])
    return tuple(sorted(revisions - parents))


def current_revisions(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return ()
        return tuple(sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars()))


def require_head(engine: Engine) -> None:
    """Refuse to work on a database this LEAP's code does not match, with the one command that fixes it."""
    current, head = current_revisions(engine), head_revisions()
    if current != head:
        raise SchemaError(f"the database schema is at {_label(current)}, this LEAP needs {_label(head)}: "
                          "run `leap db upgrade`")


def _label(revisions: tuple[str, ...]) -> str:
    return "+".join(revisions) if revisions else "nothing (an empty database)"


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Only one process migrates a database at a time; the others wait here, then find it done."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                connection.commit()
        return
    database = make_url(str(url)).database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield  # a private in-memory database (or another backend): nobody to race with
        return
    from filelock import FileLock

    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S):
        yield


def upgrade(engine: Engine, url: str, revision: str = "head") -> UpgradeResult:
    """Migrate to `revision` under the lock; a database already there is left as it is."""
    with migration_lock(engine):
        return upgrade_holding_lock(engine, url, revision)


def upgrade_holding_lock(engine: Engine, url: str, revision: str = "head") -> UpgradeResult:
    """`upgrade` for a caller already inside `migration_lock` (`leap init` seeds under the same lock)."""
    before = current_revisions(engine)
    if revision != "head" or before != head_revisions():
        from alembic import command

        from leap_core.db.session import alembic_config

        command.upgrade(alembic_config(url), revision)
    return UpgradeResult(before, current_revisions(engine))
