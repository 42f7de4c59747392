"""`leap webhooks serve`: the Zoom webhook receiver (push registration; polling stays the backstop)."""

from __future__ import annotations

import typer

from leap_core.cli import context

app = typer.Typer(help="Receivers for platforms that push events (Zoom recording.completed).",
                  no_args_is_help=True)


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Interface to listen on (LEAP_WEBHOOKS_HOST, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port to listen on (LEAP_WEBHOOKS_PORT, 8787)."),
) -> None:
    """Answer Zoom at POST /zoom/<source id>; each request is verified with that source's secret token.

    Admins only: the receiver serves every user's Zoom sources.
    """
    from leap_core.sources.webhook_app import serve as run

    context.admin()
    leap = context.leap()
    settings = leap.settings
    run(leap.db, settings, host or settings.webhooks_host, port or settings.webhooks_port)
