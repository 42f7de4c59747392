"""`leap init` and `leap db upgrade`."""

from __future__ import annotations

import typer

from leap_core.bootstrap import init_embedded
from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit
from leap_core.home import remember_home

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(db_app, name="db")


def init(as_json: bool = JsonOption) -> None:
    """Create the database, a demo admin user, an inbox folder and its template (idempotent).

    The home it set up becomes the default of every later `leap` command without LEAP_HOME, from any folder.
    """
    leap = context.leap()
    report = init_embedded(leap)
    emit({**report, "home": str(leap.settings.resolved_home), "config": str(remember_home(leap.settings.home))},
         as_json)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations shipped with LEAP to LEAP_DATABASE_URL."""
    context.leap().db.upgrade()
    typer.echo("database is at the latest schema")
