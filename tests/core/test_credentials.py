"""Platform credentials: encrypted at rest, listed redacted, rotated to the newest key, confined to their owner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from leap_core import credentials
from leap_core.api import Leap, UserAPI
from leap_core.cli import app, context
from leap_core.config import Settings
from leap_core.db.models import AuditLog, Credential
from leap_core.db.session import Database
from leap_core.errors import NotFoundError, ValidationError
from leap_core.secrets import SecretBox, SecretKeyError
from tests.conftest import TEST_ACTOR

OLD_KEY = SecretBox.generate_key()
NEW_KEY = SecretBox.generate_key()
ACCESS_TOKEN = "fake.short-lived-access-token-value"
REFRESH_TOKEN = "1//refresh-token-that-must-stay-secret-9f3a"
CLIENT_SECRET = "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-secret"
SECRETS = (ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET)
YOUTUBE: dict[str, Any] = {
    "token": ACCESS_TOKEN,
    "refresh_token": REFRESH_TOKEN,
    "client_id": "leap-client.apps.googleusercontent.com",
    "client_secret": CLIENT_SECRET,
    "scopes": ["https://www.googleapis.com/auth/youtube.upload"],
}


def keyed(user: UserAPI, secret_key: str | None) -> UserAPI:
    """The same user, through a LEAP whose LEAP_SECRET_KEY is `secret_key`."""
    settings = Settings(home=user.leap.settings.home, database_url=user.leap.settings.database_url,
                        secret_key=secret_key)
    return Leap(settings, Database(settings.resolved_database_url)).as_user(user.user_id, TEST_ACTOR)


@pytest.fixture
def carol(leap: Leap, alice: UserAPI) -> Iterator[UserAPI]:
    """Alice with LEAP_SECRET_KEY set to one key."""
    yield keyed(alice, OLD_KEY)


@pytest.fixture
def dave(leap: Leap, bob: UserAPI) -> UserAPI:
    return keyed(bob, OLD_KEY)


def stored_rows(user: UserAPI) -> list[Credential]:
    with user.leap.db.session() as session:
        rows = list(session.scalars(select(Credential)))
        session.expunge_all()
        return rows


def test_a_credential_is_stored_encrypted_and_only_its_hint_is_shown(carol: UserAPI) -> None:
    shown = carol.credentials.add("youtube", "lectures", YOUTUBE)

    assert (shown["platform"], shown["name"], shown["hint"]) == ("youtube", "lectures", "…9f3a")
    listed = carol.credentials.entries()
    assert [c["name"] for c in listed] == ["lectures"]
    printed = json.dumps(listed, default=str) + json.dumps(shown, default=str)
    assert not any(secret in printed for secret in SECRETS)
    (row,) = stored_rows(carol)
    assert not any(secret.encode() in row.encrypted for secret in SECRETS)
    assert credentials.reveal(row, SecretBox([OLD_KEY])) == {k: v for k, v in YOUTUBE.items() if k != "scopes"}


def test_an_incomplete_credential_is_refused_naming_what_is_missing(carol: UserAPI) -> None:
    with pytest.raises(ValidationError, match="missing: refresh_token"):
        carol.credentials.add("youtube", "lectures", {"client_id": "x", "client_secret": "y"})
    with pytest.raises(ValidationError, match=r"missing: account_id, client_id, client_secret"):
        carol.credentials.add("zoom", "lectures", {"token": "x"})
    with pytest.raises(ValidationError, match="known: youtube, vk, zoom, yandex"):
        carol.credentials.add("dropbox", "lectures", {"token": "x"})


def test_a_second_credential_under_the_same_name_needs_replace(carol: UserAPI) -> None:
    carol.credentials.add("vk", "group", {"access_token": "vk1.a.first-token-value-0001"})

    with pytest.raises(ValidationError, match="already have"):
        carol.credentials.add("vk", "group", {"token": "vk1.a.second-token-value-0002"})
    replaced = carol.credentials.add("vk", "group", {"token": "vk1.a.second-token-value-0002"}, replace=True)

    assert replaced["hint"] == "…0002" and replaced["rotated_at"] is not None
    (row,) = stored_rows(carol)
    assert credentials.reveal(row, SecretBox([OLD_KEY])) == {"token": "vk1.a.second-token-value-0002"}


def test_rotation_re_encrypts_under_the_newest_key_so_the_old_one_can_go(carol: UserAPI) -> None:
    carol.credentials.add("youtube", "lectures", YOUTUBE)
    carol.credentials.add("vk", "group", {"token": "vk1.a.first-token-value-0001"})

    rotated = keyed(carol, f"{NEW_KEY},{OLD_KEY}").credentials.rotate()

    assert sorted(c["name"] for c in rotated) == ["group", "lectures"]
    rows = stored_rows(carol)
    assert {credentials.reveal(r, SecretBox([NEW_KEY]))["token"] for r in rows} == {
        YOUTUBE["token"], "vk1.a.first-token-value-0001"}
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        credentials.reveal(rows[0], SecretBox([OLD_KEY]))


def test_without_leap_secret_key_adding_fails_clearly_but_listing_and_deleting_work(carol: UserAPI) -> None:
    carol.credentials.add("vk", "group", {"token": "vk1.a.first-token-value-0001"})
    keyless = keyed(carol, None)

    with pytest.raises(SecretKeyError, match="LEAP_SECRET_KEY is not set"):
        keyless.credentials.add("vk", "other", {"token": "vk1.a.other-token-value-0003"})
    assert [c["name"] for c in keyless.credentials.entries()] == ["group"]
    keyless.credentials.delete("vk", "group")
    assert keyless.credentials.entries() == []


def test_another_user_can_neither_see_nor_delete_your_credential(carol: UserAPI, dave: UserAPI) -> None:
    carol.credentials.add("youtube", "lectures", YOUTUBE)

    assert dave.credentials.entries() == []
    with pytest.raises(NotFoundError):
        dave.credentials.delete("youtube", "lectures")
    with pytest.raises(NotFoundError):
        dave.credentials.rotate("youtube", "lectures")
    assert [c["name"] for c in carol.credentials.entries()] == ["lectures"]


def test_every_change_is_audited_without_the_secret(carol: UserAPI) -> None:
    carol.credentials.add("youtube", "lectures", YOUTUBE)
    keyed(carol, f"{NEW_KEY},{OLD_KEY}").credentials.rotate("youtube", "lectures")
    carol.credentials.delete("youtube", "lectures")

    actions = [e["action"] for e in carol.activity() if e["action"].startswith("credential.")]
    assert sorted(actions) == ["credential.create", "credential.delete", "credential.rotate"]
    with carol.leap.db.session() as session:
        logged = json.dumps([a.details for a in session.scalars(select(AuditLog))])
    assert "lectures" in logged and not any(secret in logged for secret in SECRETS)


def test_a_template_names_its_credential_or_uses_the_only_one(carol: UserAPI) -> None:
    carol.credentials.add("vk", "group", {"token": "vk1.a.first-token-value-0001"})
    with carol.leap.db.session() as session:
        assert credentials.for_target(session, carol.user_id, "vk", {}).name == "group"
        with pytest.raises(NotFoundError, match="add one"):
            credentials.for_target(session, carol.user_id, "youtube", {})
    carol.credentials.add("vk", "channel", {"token": "vk1.a.other-token-value-0003"})
    with carol.leap.db.session() as session:
        assert credentials.for_target(session, carol.user_id, "vk", {"credential": "channel"}).name == "channel"
        with pytest.raises(ValidationError, match="several vk credentials"):
            credentials.for_target(session, carol.user_id, "vk", {})


# the command line -------------------------------------------------------------------------------------
@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[CliRunner]:
    monkeypatch.setenv("LEAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LEAP_DATABASE_URL", database_url)
    monkeypatch.setenv("LEAP_SECRET_KEY", OLD_KEY)
    context.leap.cache_clear()
    runner = CliRunner()
    runner.invoke(app, ["init"])
    yield runner
    context.leap.cache_clear()


def test_the_cli_adds_from_a_json_file_and_never_prints_the_secret(cli: CliRunner, tmp_path: Path) -> None:
    secrets_file = tmp_path / "youtube.json"
    secrets_file.write_text(json.dumps(YOUTUBE))

    added = cli.invoke(app, ["credentials", "add", "youtube", "lectures", "--from-json", str(secrets_file)])
    vk = cli.invoke(app, ["credentials", "add", "vk", "group"], input="vk1.a.prompted-token-value-0004\n")
    listed = cli.invoke(app, ["credentials", "list"])
    rotated = cli.invoke(app, ["credentials", "rotate", "--json"])
    deleted = cli.invoke(app, ["credentials", "delete", "vk", "group"])

    assert [r.exit_code for r in (added, vk, listed, rotated, deleted)] == [0, 0, 0, 0, 0]
    assert "lectures" in listed.stdout and "…9f3a" in listed.stdout and "…0004" in listed.stdout
    printed = "".join(r.stdout + r.stderr for r in (added, vk, listed, rotated, deleted))
    assert not any(secret in printed for secret in (*SECRETS, "vk1.a.prompted-token-value-0004"))


def test_the_cli_reports_a_broken_json_file_in_one_line_without_its_content(cli: CliRunner, tmp_path: Path) -> None:
    secrets_file = tmp_path / "youtube.json"
    secrets_file.write_text('{"refresh_token": "1//half-written-secret')

    result = cli.invoke(app, ["credentials", "add", "youtube", "lectures", "--from-json", str(secrets_file)])

    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {secrets_file} is not valid JSON"
