"""`leap init`, `leap db upgrade`, `leap sources …`, `leap templates …`."""

from __future__ import annotations

from pathlib import Path

import typer

from leap_core.bootstrap import init_embedded
from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
sources_app = typer.Typer(help="Where recordings come from.", no_args_is_help=True)
templates_app = typer.Typer(help="What happens to matching recordings.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(db_app, name="db")
    app.add_typer(sources_app, name="sources")
    app.add_typer(templates_app, name="templates")


def init(as_json: bool = JsonOption) -> None:
    """Create the database, a demo admin user, an inbox folder and its template (idempotent)."""
    emit(init_embedded(context.leap()), as_json)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations shipped with LEAP to LEAP_DATABASE_URL."""
    context.leap().db.upgrade()
    typer.echo("database is at the latest schema")


@sources_app.command("add-local")
def add_local(name: str, path: Path, as_json: bool = JsonOption) -> None:
    """Watch a folder: media files dropped into it become recordings."""
    emit(context.me().add_local_source(name, path), as_json)


@sources_app.command("list")
def list_sources(as_json: bool = JsonOption) -> None:
    emit(context.me().sources(), as_json, ["id", "name", "kind", "path", "last_synced_at", "last_error"])


@templates_app.command("add")
def add_template(
    name: str,
    target: list[str] = typer.Option(["local"], "--target", help="local, youtube or vk; repeat for several."),
    process_on_arrival: bool = typer.Option(True, "--process-on-arrival/--wait-for-job"),
    priority: int = typer.Option(0),
    name_glob: str | None = typer.Option(None, help="Only files whose name matches this glob."),
    as_json: bool = JsonOption,
) -> None:
    rules = {"name_glob": name_glob} if name_glob else {}
    emit(context.me().add_template(name, targets=target, process_on_arrival=process_on_arrival,
                                   priority=priority, rules=rules), as_json)


@templates_app.command("list")
def list_templates(as_json: bool = JsonOption) -> None:
    emit(context.me().templates(), as_json, ["id", "name", "priority", "process_on_arrival", "targets"])
