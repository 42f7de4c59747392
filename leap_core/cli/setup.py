"""`leap init` and `leap db upgrade`."""

from __future__ import annotations

import typer

from leap_core.api import Leap
from leap_core.bootstrap import init_embedded
from leap_core.cli.output import JsonOption, emit
from leap_core.home import remember_dagster_home, remember_home
from leap_core.pools import instance_pools

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(db_app, name="db")


def init(as_json: bool = JsonOption) -> None:
    """Create the database, a demo admin user, an inbox folder and its template, and set the Dagster
    instance's pool limits when DAGSTER_HOME is set (all idempotent).

    The home it set up becomes the default of every later `leap` command without LEAP_HOME, from any folder.
    """
    leap = Leap.from_env(prepare_schema=False)
    result = init_embedded(leap)
    dagster_home = leap.settings.dagster_home
    if dagster_home:
        result["pools"] = instance_pools("apply", dagster_home)["limits"]
        remember_dagster_home(leap.settings.resolved_home, dagster_home)
    else:
        result["pools"] = "DAGSTER_HOME is not set: the daemon's pool_limits_sensor sets them"
    emit({**result, "home": str(leap.settings.resolved_home), "config": str(remember_home(leap.settings.home))},
         as_json)


@db_app.command("upgrade")
def db_upgrade(as_json: bool = JsonOption) -> None:
    """Apply the migrations shipped with LEAP to LEAP_DATABASE_URL, under a lock (safe to run concurrently)."""
    done = Leap.from_env(prepare_schema=False).db.upgrade()
    if as_json:
        emit({"before": list(done.before), "after": list(done.after), "applied": done.applied}, as_json)
    elif done.applied:
        typer.echo(f"migrated the database from {'+'.join(done.before) or 'nothing'} to {'+'.join(done.after)}")
    else:
        typer.echo(f"the database is already at the latest schema ({'+'.join(done.after)})")
