"""The `leap` command: a thin layer over the Python API, acting as LEAP_ACTOR.

Errors LEAP raises on purpose (`LeapError`) print one line on stderr and exit 1; wrong usage exits 2
(click's own rule); a traceback appears only with `--debug`.
"""

from __future__ import annotations

from typing import Any

import click
import typer
from typer.core import TyperGroup

from leap_core.cli import admin, media, recordings, setup, speech
from leap_core.errors import LeapError


class RefusedError(click.ClickException):
    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class LeapGroup(TyperGroup):
    """Catches LeapError once, at the top, for every subcommand."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LeapError as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RefusedError(message) from None


app = typer.Typer(cls=LeapGroup, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="LEAP: lecture recordings in, trimmed, transcribed, subtitled and published videos out.")


@app.callback()
def _root(ctx: typer.Context, debug: bool = typer.Option(False, "--debug", help="Show tracebacks.")) -> None:
    ctx.obj = {"debug": debug}


setup.register(app)
recordings.register(app)
admin.register(app)
speech.register(app)
app.add_typer(media.app, name="media")


def main() -> None:
    app()
