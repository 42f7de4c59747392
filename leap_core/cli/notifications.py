"""`leap notifications …`: your inbox, what was delivered where, and what you want to hear about."""

from __future__ import annotations

import typer

from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit, fail
from leap_core.errors import ValidationError

notifications_app = typer.Typer(help="Your notifications (in-app inbox, email, webhook).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(notifications_app, name="notifications")


@notifications_app.command("list")
def list_notifications(
    unread: bool = typer.Option(False, "--unread", help="Only the unread ones."),
    limit: int = typer.Option(50),
    as_json: bool = JsonOption,
) -> None:
    emit(context.me().notifications.list(unread_only=unread, limit=limit), as_json,
         ["id", "created_at", "type", "title", "unread"])


@notifications_app.command("count")
def count(as_json: bool = JsonOption) -> None:
    """How many notifications are unread."""
    emit({"unread": context.me().notifications.unread_count()}, as_json)


@notifications_app.command("read")
def read(
    ids: list[str] = typer.Argument(None, help="Notification ids; none with --all."),
    all_unread: bool = typer.Option(False, "--all", help="Mark every unread notification read."),
    as_json: bool = JsonOption,
) -> None:
    """Mark notifications read."""
    if not ids and not all_unread:
        raise fail("name the notifications to mark read, or pass --all")
    emit({"marked_read": context.me().notifications.mark_read(None if all_unread else ids)}, as_json)


@notifications_app.command("deliveries")
def deliveries(
    notification_id: str | None = typer.Option(None, "--notification", help="Only this notification's."),
    limit: int = typer.Option(100),
    as_json: bool = JsonOption,
) -> None:
    """The delivery log: every email and webhook delivery, its attempts, status and last error."""
    emit(context.me().notifications.deliveries(notification_id, limit), as_json,
         ["id", "notification_id", "channel", "status", "attempts", "next_attempt_at", "last_error"])


def _event_channels(values: list[str]) -> dict[str, list[str]]:
    choices = {}
    for value in values:
        event_type, sep, channels = value.partition("=")
        if not sep:
            raise ValidationError(f"--on takes EVENT=CHANNEL[,CHANNEL…] (or EVENT= for none), not {value!r}")
        choices[event_type.strip()] = [c.strip() for c in channels.split(",") if c.strip()]
    return choices


@notifications_app.command("prefs")
def prefs(
    on: list[str] = typer.Option([], "--on", help="EVENT=CHANNELS, e.g. upload.failed=in_app,email,webhook"),
    email: str | None = typer.Option(None, help="Where emails go ('' = your account's address)."),
    webhook_url: str | None = typer.Option(None, help="The endpoint that receives signed POSTs."),
    webhook_secret: str | None = typer.Option(
        None, envvar="LEAP_WEBHOOK_SECRET", show_envvar=True, help="Signing secret (stored encrypted)."),
    remove_webhook: bool = typer.Option(False, "--remove-webhook"),
    summary: str | None = typer.Option(None, help="off, daily or weekly."),
    as_json: bool = JsonOption,
) -> None:
    """Show your preferences, changing first whatever options you give."""
    api = context.me().notifications
    changing = on or email is not None or webhook_url is not None or remove_webhook or summary is not None
    shown = api.set_preferences(
        events=_event_channels(on) if on else None, email=email, webhook_url=webhook_url,
        webhook_secret=webhook_secret, remove_webhook=remove_webhook, summary=summary,
    ) if changing else api.preferences()
    if as_json:
        emit(shown, True)
        return
    emit({k: v for k, v in shown.items() if k != "events"}, False)
    emit([{"event": t, "channels": ",".join(c) or "-"} for t, c in shown["events"].items()], False,
         ["event", "channels"])


@notifications_app.command("drain")
def drain(
    limit: int = typer.Option(50),
    every_user: bool = typer.Option(False, "--all", help="Every user's outbox (admins only)."),
    as_json: bool = JsonOption,
) -> None:
    """Send your due email and webhook deliveries now (the Dagster outbox sensor does this every 30 s)."""
    counts = context.admin().drain_notifications(limit) if every_user else context.me().notifications.drain(limit)
    emit(counts, as_json)
