"""`leap users …`: admin-only commands."""

from __future__ import annotations

import typer

from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit

users_app = typer.Typer(help="Users (admins only).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


@users_app.command("create")
def create(
    slug: str,
    email: str | None = typer.Option(None),
    role: str = typer.Option("user", help="user or admin"),
    as_json: bool = JsonOption,
) -> None:
    emit(context.admin().create_user(slug, email, role), as_json)


@users_app.command("list")
def list_users(as_json: bool = JsonOption) -> None:
    emit(context.admin().list_users(), as_json, ["id", "slug", "email", "role", "created_at"])
