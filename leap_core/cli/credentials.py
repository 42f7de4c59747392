"""`leap credentials …`: the accounts LEAP publishes with, stored encrypted and only ever shown redacted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit
from leap_core.errors import ValidationError

credentials_app = typer.Typer(help="Platform accounts (YouTube, VK), encrypted with LEAP_SECRET_KEY.",
                              no_args_is_help=True)
COLUMNS = ["platform", "name", "hint", "created_at", "rotated_at"]


def register(app: typer.Typer) -> None:
    app.add_typer(credentials_app, name="credentials")


JSON_FILE_LIMIT = 64 * 1024  # a few 16 KB fields at most (leap_core.credentials.FIELD_LIMIT)


def _secret_fields(from_json: Path | None, token: str | None) -> dict[str, Any]:
    """From a JSON file (google-auth's authorized-user format for YouTube), a token, or a hidden prompt."""
    if from_json is not None and token is not None:
        raise ValidationError("give either --from-json or --token, not both")
    if from_json is None:
        return {"token": token or typer.prompt("token", hide_input=True)}
    try:
        if from_json.stat().st_size > JSON_FILE_LIMIT:
            raise ValidationError(f"{from_json} is larger than {JSON_FILE_LIMIT // 1024} KB: not a credential file")
        data = json.loads(from_json.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(f"cannot read {from_json}: {exc.strerror}") from None
    except ValueError:
        # The parser's message quotes the file's text, which is a secret.
        raise ValidationError(f"{from_json} is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{from_json} must hold a JSON object of credential fields")
    return data


@credentials_app.command("add")
def add(
    platform: str = typer.Argument(..., help="youtube or vk."),
    name: str = typer.Argument(..., help="Your name for this account; templates refer to it."),
    from_json: Path | None = typer.Option(None, "--from-json", help="A JSON file of fields (refresh_token, "
                                          "client_id, client_secret for YouTube)."),
    token: str | None = typer.Option(None, "--token", help="An access token (VK); prompted for when omitted."),
    replace: bool = typer.Option(False, "--replace", help="Store a new secret under an existing name."),
    as_json: bool = JsonOption,
) -> None:
    """Store an account's credential, encrypted; the secret is never printed back."""
    emit(context.me().credentials.add(platform, name, _secret_fields(from_json, token), replace=replace), as_json)


@credentials_app.command("list")
def list_credentials(platform: str | None = typer.Option(None), as_json: bool = JsonOption) -> None:
    emit(context.me().credentials.entries(platform), as_json, COLUMNS)


@credentials_app.command("rotate")
def rotate(
    platform: str | None = typer.Option(None), name: str | None = typer.Option(None), as_json: bool = JsonOption,
) -> None:
    """Re-encrypt with the newest key in LEAP_SECRET_KEY, so older keys can be removed afterwards."""
    emit(context.me().credentials.rotate(platform, name), as_json, COLUMNS)


@credentials_app.command("delete")
def delete(platform: str, name: str) -> None:
    context.me().credentials.delete(platform, name)
    typer.echo(f"deleted the {platform} credential {name!r}")
