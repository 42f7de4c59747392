"""`leap sources …`: where recordings come from — a local folder, a Zoom account, a Yandex Disk folder."""

from __future__ import annotations

from pathlib import Path

import typer

from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit
from leap_core.sources.base import DEFAULT_PREFERRED_TYPES

app = typer.Typer(help="Where recordings come from.", no_args_is_help=True)
COLUMNS = ["id", "name", "kind", "where", "enabled", "last_synced_at", "last_error"]
SYNC_COLUMNS = ["source", "listed", "registered", "promoted", "skipped", "over_quota", "error"]


@app.command("add-local")
def add_local(name: str, path: Path, as_json: bool = JsonOption) -> None:
    """Watch a folder: media files dropped into it become recordings."""
    emit(context.me().sources_api.add_local(name, path), as_json, COLUMNS)


@app.command("add-zoom")
def add_zoom(
    name: str,
    credential: str = typer.Option(..., help="Name of your stored zoom credential (Server-to-Server OAuth app)."),
    zoom_user: str = typer.Option("me", help="Zoom user id or email whose cloud recordings to take."),
    prefer: list[str] = typer.Option(list(DEFAULT_PREFERRED_TYPES), "--prefer",
                                     help="Recording types in order of preference; repeat. M4A audio is the fallback."),
    lookback_days: int = typer.Option(30, help="How far back each sync looks."),
    as_json: bool = JsonOption,
) -> None:
    """Take a Zoom user's cloud recordings; ones Zoom is still processing wait as PENDING_SOURCE."""
    emit(context.me().sources_api.add_zoom(name, credential, zoom_user=zoom_user, preferred_types=prefer,
                                           lookback_days=lookback_days), as_json, COLUMNS)


@app.command("add-yandex")
def add_yandex(
    name: str,
    folder: str = typer.Option(..., help="The Yandex Disk folder, e.g. disk:/Lectures."),
    credential: str = typer.Option(..., help="Name of your stored yandex credential (OAuth token)."),
    as_json: bool = JsonOption,
) -> None:
    """Take the video and audio files in one Yandex Disk folder."""
    emit(context.me().sources_api.add_yandex(name, credential, folder), as_json, COLUMNS)


@app.command("list")
def list_sources(as_json: bool = JsonOption) -> None:
    emit(context.me().sources_api.list(), as_json, COLUMNS)


@app.command("sync")
def sync(source: str | None = typer.Argument(None, help="A source name or id; all enabled ones when omitted."),
         as_json: bool = JsonOption) -> None:
    """List now and register what is new; a failing source is reported in its row, the others still sync."""
    emit(context.me().sources_api.sync(source), as_json, SYNC_COLUMNS)
