"""The in-app inbox through the Python API and the `leap notifications` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from leap_core.api import UserAPI
from leap_core.bootstrap import DEMO_SLUG
from leap_core.cli import app, context
from leap_core.db.models import User
from leap_core.notifications import notify, stage_failed
from tests.core.notifications.conftest import SECRET_KEY, WEBHOOK_SECRET


def fail_recordings(api: UserAPI, count: int) -> list[str]:
    with api.leap.db.session() as session:
        stored = [notify(session, api.user_id, stage_failed(f"rec{i}", f"Lecture {i}", "trim", "boom", i))
                  for i in range(count)]
    return [n.id for n in stored if n is not None]


def test_unread_notifications_are_counted_and_marked_read(alice: UserAPI) -> None:
    ids = fail_recordings(alice, 3)
    assert alice.notifications.unread_count() == 3
    assert [n["id"] for n in alice.notifications.list()] == ids[::-1], "newest first"

    assert alice.notifications.mark_read([ids[0]]) == 1
    assert alice.notifications.mark_read([ids[0]]) == 0, "already read"
    assert [n["id"] for n in alice.notifications.list(unread_only=True)] == ids[:0:-1]
    assert alice.notifications.mark_read() == 2
    assert alice.notifications.unread_count() == 0


def test_another_users_notifications_are_invisible_and_untouchable(alice: UserAPI, bob: UserAPI) -> None:
    [theirs] = fail_recordings(alice, 1)
    assert bob.notifications.list() == [] and bob.notifications.deliveries() == []
    assert bob.notifications.mark_read([theirs]) == 0
    assert alice.notifications.unread_count() == 1


runner = CliRunner()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[UserAPI]:
    monkeypatch.setenv("LEAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LEAP_DATABASE_URL", database_url)
    monkeypatch.setenv("LEAP_SECRET_KEY", SECRET_KEY)
    context.leap.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    with context.leap().db.session() as session:
        demo = session.scalar(select(User.id).where(User.slug == DEMO_SLUG))
    assert demo is not None
    yield context.leap().as_user(demo)
    context.leap().db.dispose()
    context.leap.cache_clear()


def leap(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_lists_counts_and_marks_read(cli: UserAPI) -> None:
    fail_recordings(cli, 2)
    code, out, _ = leap("notifications", "list")
    assert code == 0 and "TITLE" in out and "Processing (trim) failed: Lecture 1" in out
    assert json.loads(leap("notifications", "count", "--json")[1]) == {"unread": 2}
    assert json.loads(leap("notifications", "read", "--all", "--json")[1]) == {"marked_read": 2}
    assert json.loads(leap("notifications", "list", "--unread", "--json")[1]) == []


def test_the_cli_sets_preferences_and_never_prints_the_secret(cli: UserAPI) -> None:
    code, out, err = leap("notifications", "prefs", "--on", "upload.failed=in_app,webhook", "--summary", "daily",
                          "--webhook-url", "https://93.184.215.14/leap", "--webhook-secret", WEBHOOK_SECRET)
    assert code == 0, err
    assert "upload.failed" in out and "in_app,webhook" in out and WEBHOOK_SECRET not in out
    shown = json.loads(leap("notifications", "prefs", "--json")[1])
    assert shown["webhook"]["url"] == "https://93.184.215.14/leap" and shown["summary"] == "daily"


def test_the_cli_refuses_bad_input_in_one_line(cli: UserAPI) -> None:
    code, _, err = leap("notifications", "read")
    assert (code, err.strip()) == (1, "error: name the notifications to mark read, or pass --all")
    code, _, err = leap("notifications", "prefs", "--on", "upload.failed")
    assert code == 1 and err.strip().startswith("error: --on takes EVENT=CHANNEL")
