"""`leap users …` and `leap admin plans|subscriptions|quotas|stats|audit …`: admin-only commands.

Each command is one AdminAPI call. Limits are given as repeatable `--limit NAME=VALUE` (VALUE a number
or `unlimited`), so a new quota needs no new option; statistics print as tables, `--json` for scripts
and `--csv FILE` to export the DataFrame as it is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from leap_core.audit import AuditQuery
from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit, emit_json
from leap_core.errors import ValidationError
from leap_core.quotas import QUOTA_NAMES

users_app = typer.Typer(help="Users (admins only).", no_args_is_help=True)
admin_app = typer.Typer(help="Plans, subscriptions, quotas, statistics and the audit log (admins only).",
                        no_args_is_help=True)
plans_app = typer.Typer(help="Subscription plans.", no_args_is_help=True)
subscriptions_app = typer.Typer(help="Who is on which plan.", no_args_is_help=True)
quotas_app = typer.Typer(help="Effective quotas, per-user overrides and usage.", no_args_is_help=True)
stats_app = typer.Typer(help="Statistics (tables; --json; --csv FILE).", no_args_is_help=True)
usage_app = typer.Typer(help="Usage counters checked against the disk and the recordings.", no_args_is_help=True)
admin_app.add_typer(plans_app, name="plans")
admin_app.add_typer(subscriptions_app, name="subscriptions")
admin_app.add_typer(quotas_app, name="quotas")
admin_app.add_typer(stats_app, name="stats")
admin_app.add_typer(usage_app, name="usage")

LimitOption = typer.Option([], "--limit", help=f"NAME=VALUE (repeatable; VALUE a number or 'unlimited'). "
                                               f"Names: {', '.join(QUOTA_NAMES)}.")
CsvOption = typer.Option(None, "--csv", help="Write the table to this CSV file instead of printing it.")
SinceOption = typer.Option(None, "--since", help="From this date (UTC, inclusive).", formats=["%Y-%m-%d"])
UntilOption = typer.Option(None, "--until", help="Up to this date (UTC, exclusive).", formats=["%Y-%m-%d"])
PLAN_COLUMNS = ["name", *QUOTA_NAMES]
SUBSCRIPTION_COLUMNS = ["user_id", "plan", *(f"custom_{n}" for n in QUOTA_NAMES), "started_at"]


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(admin_app, name="admin")


def parse_limits(pairs: list[str]) -> dict[str, float | None]:
    """`max_storage_gb=50` → {"max_storage_gb": 50.0}; `unlimited` → None. Names are checked by the core."""
    limits: dict[str, float | None] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise ValidationError(f"--limit takes NAME=VALUE, not {pair!r}")
        try:
            limits[name.strip()] = None if raw.strip().lower() == "unlimited" else float(raw)
        except ValueError:
            raise ValidationError(f"--limit {name}: {raw!r} is not a number or 'unlimited'") from None
    return limits


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def emit_frame(df: pd.DataFrame, as_json: bool, csv: Path | None) -> None:
    """A DataFrame as a table, as JSON records, or exported whole to CSV."""
    if csv is not None:
        df.to_csv(csv, index=False)
        typer.echo(f"wrote {len(df)} row(s) to {csv}")
        return
    rows: list[dict[str, Any]] = json.loads(df.to_json(orient="records", date_format="iso"))
    emit(rows, as_json, list(df.columns))


# users ---------------------------------------------------------------------------------------------
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


# plans ---------------------------------------------------------------------------------------------
@plans_app.command("list")
def plans_list(as_json: bool = JsonOption) -> None:
    emit(context.admin().plans(), as_json, PLAN_COLUMNS)


@plans_app.command("create")
def plans_create(name: str, limit: list[str] = LimitOption, as_json: bool = JsonOption) -> None:
    emit(context.admin().create_plan(name, **parse_limits(limit)), as_json)


@plans_app.command("update")
def plans_update(plan: str, limit: list[str] = LimitOption, as_json: bool = JsonOption) -> None:
    emit(context.admin().update_plan(plan, **parse_limits(limit)), as_json)


@plans_app.command("delete")
def plans_delete(plan: str) -> None:
    context.admin().delete_plan(plan)
    typer.echo(f"deleted plan {plan}")


# subscriptions -------------------------------------------------------------------------------------
@subscriptions_app.command("list")
def subscriptions_list(as_json: bool = JsonOption) -> None:
    emit(context.admin().subscriptions(), as_json, SUBSCRIPTION_COLUMNS)


@subscriptions_app.command("set")
def subscriptions_set(user: str, plan: str, as_json: bool = JsonOption) -> None:
    emit(context.admin().subscribe(user, plan), as_json)


@subscriptions_app.command("remove")
def subscriptions_remove(user: str) -> None:
    context.admin().unsubscribe(user)
    typer.echo(f"{user} is back on the default quotas")


# quotas --------------------------------------------------------------------------------------------
@quotas_app.command("show")
def quotas_show(user: str, period: str | None = typer.Option(None, help="YYYYMM (default: this month)"),
                as_json: bool = JsonOption) -> None:
    admin = context.admin()
    emit({"quotas": admin.quotas(user), "usage": admin.usage(user, period)} if as_json
         else {**admin.quotas(user), **admin.usage(user, period)}, as_json)


@quotas_app.command("override")
def quotas_override(user: str, limit: list[str] = LimitOption, as_json: bool = JsonOption) -> None:
    emit(context.admin().set_quota_overrides(user, **parse_limits(limit)), as_json)


@quotas_app.command("clear")
def quotas_clear(user: str, names: list[str] = typer.Argument(None, help="Quotas to clear (default: all)."),
                 as_json: bool = JsonOption) -> None:
    emit(context.admin().clear_quota_overrides(user, *(names or [])), as_json)


@quotas_app.command("usage")
def quotas_usage(
    user: str | None = typer.Option(None, "--user"),
    first: str | None = typer.Option(None, "--from", help="First period YYYYMM."),
    last: str | None = typer.Option(None, "--to", help="Last period YYYYMM."),
    as_json: bool = JsonOption, csv: Path | None = CsvOption,
) -> None:
    emit_frame(context.admin().quota_usage(user, first, last), as_json, csv)


# usage ---------------------------------------------------------------------------------------------
@usage_app.command("verify")
def usage_verify(
    user: str | None = typer.Option(None, "--user", help="One user (default: every user)."),
    fix: bool = typer.Option(False, "--fix", help="Set the counters to the recomputed values (audited)."),
    as_json: bool = JsonOption,
) -> None:
    """Exit 1 if any user's counters differ from their disk and recordings (after --fix: if any still do)."""
    report = context.admin().verify_usage(user, fix)
    if as_json:
        emit_json(report)
    else:
        for fixed in report.get("fixed", []):
            typer.echo(f"fixed {fixed['user']}: " + "; ".join(fixed["differences"]))
        rows = [{"user": b["user"], "counter_bytes": b["counter_bytes"], "expected_bytes": b["expected_bytes"],
                 "disk_bytes": b["disk_bytes"], "reserved_bytes": b["reserved_bytes"],
                 "ok": "yes" if b["ok"] else "NO"} for b in report["users"]]
        emit(rows, False, list(rows[0]) if rows else ["user"])
        for balance in report["users"]:
            for difference in balance["differences"]:
                typer.echo(f"{balance['user']}: {difference}")
    if not report["ok"]:
        raise typer.Exit(1)


# stats ---------------------------------------------------------------------------------------------
@stats_app.command("overview")
def stats_overview(since: datetime | None = SinceOption, until: datetime | None = UntilOption,
                   as_json: bool = JsonOption, csv: Path | None = CsvOption) -> None:
    emit_frame(context.admin().platform_overview(_utc(since), _utc(until)), as_json, csv)


@stats_app.command("users")
def stats_users(since: datetime | None = SinceOption, until: datetime | None = UntilOption,
                as_json: bool = JsonOption, csv: Path | None = CsvOption) -> None:
    emit_frame(context.admin().user_table(_utc(since), _utc(until)), as_json, csv)


@stats_app.command("user")
def stats_user(
    user: str,
    view: str = typer.Option("totals", "--by", help="totals, status or template"),
    since: datetime | None = SinceOption, until: datetime | None = UntilOption,
    as_json: bool = JsonOption, csv: Path | None = CsvOption,
) -> None:
    views = {"totals": "totals", "status": "by_status", "template": "by_template"}
    if view not in views:
        raise ValidationError(f"--by must be one of {', '.join(views)}, not {view!r}")
    found = context.admin().user_stats(user, _utc(since), _utc(until))
    emit_frame(getattr(found, views[view]), as_json, csv)


@stats_app.command("stages")
def stats_stages(user: str | None = typer.Option(None, "--user"),
                 since: datetime | None = SinceOption, until: datetime | None = UntilOption,
                 as_json: bool = JsonOption, csv: Path | None = CsvOption) -> None:
    emit_frame(context.admin().stage_times(_utc(since), _utc(until), user), as_json, csv)


# pools ---------------------------------------------------------------------------------------------
@admin_app.command("pools")
def pools(as_json: bool = JsonOption) -> None:
    """The concurrency pools: limit (LEAP's and the instance's), steps in a slot, steps waiting for one."""
    emit(context.admin().pools(), as_json, ["pool", "limit", "instance_limit", "in_use", "pending", "holds"])


# audit ---------------------------------------------------------------------------------------------
@admin_app.command("audit")
def audit_log(
    user: str | None = typer.Option(None, "--user", help="User id."),
    action: str | None = typer.Option(None, "--action", help="e.g. quota.* or plan.update"),
    resource_type: str | None = typer.Option(None, "--resource-type"),
    resource_id: str | None = typer.Option(None, "--resource-id"),
    since: datetime | None = SinceOption, until: datetime | None = UntilOption,
    limit: int = typer.Option(100, "--limit"),
    as_json: bool = JsonOption,
) -> None:
    q = AuditQuery(user_id=user, action=action, resource_type=resource_type, resource_id=resource_id,
                   since=_utc(since), until=_utc(until), limit=limit)
    emit(context.admin().audit(q), as_json,
         ["ts", "actor", "operator", "action", "resource_type", "resource_id", "result"])
