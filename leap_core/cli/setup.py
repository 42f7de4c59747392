"""`leap init` and `leap db upgrade`."""

from __future__ import annotations

import typer

from leap_core.bootstrap import init_embedded
from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit
from leap_core.pools import instance_pools

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(db_app, name="db")


def init(as_json: bool = JsonOption) -> None:
    """Create the database, a demo admin user, an inbox folder and its template, and set the Dagster
    instance's pool limits when DAGSTER_HOME is set (all idempotent)."""
    result = init_embedded(context.leap())
    dagster_home = context.leap().settings.dagster_home
    if dagster_home:
        result["pools"] = instance_pools("apply", dagster_home)["limits"]
    else:
        result["pools"] = "DAGSTER_HOME is not set: the daemon's pool_limits_sensor sets them"
    emit(result, as_json)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations shipped with LEAP to LEAP_DATABASE_URL."""
    context.leap().db.upgrade()
    typer.echo("database is at the latest schema")
