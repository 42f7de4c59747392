"""The `leap` command: a thin layer over the Python API, acting as LEAP_ACTOR.

Errors LEAP raises on purpose (`LeapError`) print one line on stderr and exit 1; wrong usage exits 2
(click's own rule); a traceback appears only with `--debug`.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from leap_core.cli import admin, archive, credentials, media, notifications, recordings, setup, speech, tasks
from leap_core.cli import automation as automation_cli
from leap_core.cli import search as search_cli
from leap_core.cli import sources as sources_cli
from leap_core.cli import templates as templates_cli
from leap_core.cli import webhooks as webhooks_cli
from leap_core.cli.output import fail
from leap_core.config import get_settings
from leap_core.errors import LeapError
from leap_core.logs import configure_logging


class LeapGroup(TyperGroup):
    """Catches LeapError once, at the top, for every subcommand."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LeapError as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            raise fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


app = typer.Typer(cls=LeapGroup, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="LEAP: lecture recordings in, trimmed, transcribed, subtitled and published videos out.")


@app.callback()
def _root(ctx: typer.Context, debug: bool = typer.Option(False, "--debug", help="Show tracebacks.")) -> None:
    ctx.obj = {"debug": debug}


setup.register(app)
recordings.register(app)
archive.register(app)
admin.register(app)
tasks.register(app)
notifications.register(app)
credentials.register(app)
speech.register(app)
search_cli.register(app)

app.add_typer(media.app, name="media")
app.add_typer(sources_cli.app, name="sources")
app.add_typer(templates_cli.app, name="templates")
app.add_typer(automation_cli.app, name="automation")
app.add_typer(webhooks_cli.app, name="webhooks")


def main() -> None:
    try:
        settings = get_settings()
    except LeapError as exc:  # a bad LEAP_* value: one line, before any command runs
        raise SystemExit(f"error: {exc}") from None
    configure_logging(settings)
    app()
