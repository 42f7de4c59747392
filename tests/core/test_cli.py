"""The `leap` command: tables for people, JSON for scripts, one-line errors with exit code 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leap_core.cli import context
from tests.support.cli import leap


def test_init_creates_the_demo_user_inbox_and_template_once(cli_env: Path) -> None:
    code, out, _ = leap("init", "--json")
    assert code == 0 and json.loads(out)["created"] is True
    code, out, _ = leap("init", "--json")
    assert code == 0 and json.loads(out)["created"] is False
    code, out, _ = leap("sources", "list", "--json")
    assert [s["name"] for s in json.loads(out)] == ["inbox"]
    code, out, _ = leap("templates", "list")
    assert code == 0 and "inbox" in out and "NAME" in out


def test_users_are_created_and_listed_by_an_admin(cli_env: Path) -> None:
    leap("init")
    code, out, _ = leap("users", "create", "carol", "--email", "carol@example.org", "--json")
    assert code == 0 and json.loads(out)["slug"] == "carol"
    code, out, _ = leap("users", "list")
    assert "carol" in out and "demo" in out


def test_a_refused_action_prints_one_line_and_exits_1(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    leap("init")
    code, _, err = leap("recordings", "show", "01NOTAREALRECORDING0000000")
    assert code == 1
    assert err.strip() == "error: recording not found: 01NOTAREALRECORDING0000000"
    leap("users", "create", "carol")
    monkeypatch.setenv("LEAP_ACTOR", "carol")
    context.leap.cache_clear()
    code, _, err = leap("users", "list")
    assert (code, err.strip()) == (1, "error: 'carol' is not an admin")


def test_wrong_usage_exits_2(cli_env: Path) -> None:
    code, _, _ = leap("recordings", "list", "--status", "NOPE")
    assert code == 2


def test_recordings_and_audit_print_as_json(cli_env: Path) -> None:
    leap("init")
    code, out, _ = leap("recordings", "list", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = leap("audit", "list", "--json", "--action", "source.*")
    assert [e["action"] for e in json.loads(out)] == ["source.create"]
