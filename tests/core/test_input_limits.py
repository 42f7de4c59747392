"""Validation at save: oversized tokens, webhooks into private networks, and an empty retry selection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from leap_core.api import Leap, UserAPI
from leap_core.credentials import FIELD_LIMIT
from leap_core.errors import ValidationError
from leap_core.notifications.addresses import allowed_networks, check_webhook_url, pinned
from tests.support.cli import leap as run_cli

SECRET = "s" * 24


@pytest.fixture
def keyed(leap: Leap, alice: UserAPI) -> UserAPI:
    leap.settings.secret_key = Fernet.generate_key().decode()
    return alice


def test_a_ten_megabyte_token_is_refused_with_its_size(keyed: UserAPI) -> None:
    with pytest.raises(ValidationError, match=r"^vk credential field token is 10,485,760 bytes; the most LEAP "
                                              r"stores is 16,384"):
        keyed.credentials.add("vk", "main", {"token": "x" * 10 * 1024 * 1024})
    assert keyed.credentials.entries() == []
    (refusal,) = [e for e in keyed.activity() if e["result"] == "refused"]
    assert refusal["action"] == "credential.add" and "x" * 100 not in json.dumps(refusal, default=str)


def test_a_token_at_the_limit_is_stored_and_multibyte_text_counts_in_bytes(keyed: UserAPI) -> None:
    keyed.credentials.add("vk", "main", {"token": "x" * FIELD_LIMIT})
    with pytest.raises(ValidationError, match="16,386 bytes"):
        keyed.credentials.add("vk", "cyrillic", {"token": "я" * (FIELD_LIMIT // 2 + 1)})


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://192.168.0.10/hook", "private"),
    ("http://172.16.5.5/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://0.0.0.0/hook", "unspecified"),
])
def test_webhooks_to_internal_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=f"is {reason}: refused"):
        check_webhook_url(url)


def test_an_admin_allowed_network_is_accepted_and_public_addresses_always_are() -> None:
    assert check_webhook_url("http://127.0.0.1:9/hook", allowed_networks("127.0.0.0/8, 10.0.0.0/8"))
    assert check_webhook_url("https://93.184.215.14/hook") == "https://93.184.215.14/hook"
    with pytest.raises(ValidationError, match="is private"):
        check_webhook_url("http://192.168.1.1/", allowed_networks("10.0.0.0/8"))
    with pytest.raises(ValidationError, match="not a network"):
        allowed_networks("10.0.0.0/8,intranet")


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://93.184.215.14/x", "must start with https://"),
    ("https:///nohost", "name a host"),
    ("https://no-such-host.invalid/x", "does not resolve"),
    ("https://93.184.215.14:99999/x", "port"),
    ("https://93.184.215.14/" + "a" * 3000, "at most 2048"),
])
def test_malformed_webhook_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        check_webhook_url(url)


def test_saving_a_loopback_webhook_is_refused_and_changes_nothing(keyed: UserAPI) -> None:
    with pytest.raises(ValidationError, match=r"webhook address 127\.0\.0\.1 is loopback"):
        keyed.notifications.set_preferences(webhook_url="http://127.0.0.1:8080/x", webhook_secret=SECRET)
    assert keyed.notifications.preferences()["webhook"] is None
    keyed.leap.settings.webhook_allowed_networks = "127.0.0.0/8"
    saved = keyed.notifications.set_preferences(webhook_url="http://127.0.0.1:8080/x", webhook_secret=SECRET)
    assert saved["webhook"]["url"] == "http://127.0.0.1:8080/x"


def test_an_oversized_webhook_secret_is_refused(keyed: UserAPI) -> None:
    with pytest.raises(ValidationError, match="at most 1024 characters"):
        keyed.notifications.set_preferences(webhook_url="https://93.184.215.14/x", webhook_secret="s" * 5000)


def test_retry_all_failed_with_nothing_failed_says_so_and_succeeds(cli_env: Path) -> None:
    run_cli("init")
    code, out, err = run_cli("recordings", "retry", "--all-failed")
    assert (code, err.strip()) == (0, "nothing to retry: no FAILED recordings match")
    code, out, _ = run_cli("recordings", "retry", "--all-failed", "--json")
    assert (code, json.loads(out)) == (0, [])


def test_retrying_an_empty_list_through_the_api_is_a_no_op(alice: UserAPI) -> None:
    assert alice.retry([]) == []
    assert alice.tasks.list() == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "tab\there"])
def test_source_and_template_names_are_checked_before_the_database_sees_them(
    alice: UserAPI, tmp_path: Path, name: str
) -> None:
    with pytest.raises(ValidationError, match="source name must be 1 to 100 printable characters"):
        alice.add_local_source(name, tmp_path / "inbox")
    assert not (tmp_path / "inbox").exists()
    with pytest.raises(ValidationError, match="template name must be 1 to 100 printable characters"):
        alice.add_template(name, targets=["local"])
    assert alice.sources() == [] and alice.templates() == []


def test_a_delivery_connects_to_the_checked_address_keeping_the_name_for_host_and_tls() -> None:
    loopback = allowed_networks("127.0.0.0/8")
    target = pinned("https://localhost:8443/hooks?x=1", loopback)
    assert (target.url, target.host_header, target.server_name) == (
        "https://127.0.0.1:8443/hooks?x=1", "localhost:8443", "localhost")
    plain = pinned("http://127.0.0.1/h", loopback)
    assert (plain.url, plain.host_header, plain.server_name) == ("http://127.0.0.1:80/h", "127.0.0.1", None)
    with pytest.raises(ValidationError, match="is loopback"):
        pinned("http://localhost/h")
