"""`leap recordings archive|restore`: retention by hand (the retention sensor archives on schedule)."""

from __future__ import annotations

import typer

from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit
from leap_core.cli.recordings import recordings_app


def archive(recording_ids: list[str], as_json: bool = JsonOption) -> None:
    """Archive published recordings: files and partition removed; links, transcript, subtitles and audit kept."""
    emit(context.me().archive(recording_ids), as_json)


def restore(recording_ids: list[str], as_json: bool = JsonOption) -> None:
    """Bring archived recordings back: partition re-added, transcript and subtitles written back."""
    emit(context.me().restore(recording_ids), as_json)


def register(_: typer.Typer) -> None:
    recordings_app.command("archive")(archive)
    recordings_app.command("restore")(restore)
