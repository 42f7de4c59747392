"""The email channel against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from leap_core.api import UserAPI
from leap_core.config import Settings
from leap_core.db.types import utcnow
from leap_core.notifications import notify, quota_warning_event, stage_failed
from leap_core.notifications.outbox import drain
from tests.core.notifications.conftest import SecureSMTPServer, SMTPServer, TLSFiles


def test_a_failure_arrives_as_a_two_part_email_to_the_user(alice: UserAPI, smtp: SMTPServer) -> None:
    with alice.leap.db.session() as session:
        stored = notify(session, alice.user_id, stage_failed("rec1", "Lecture <1>", "trim", "no audio stream", 1))
    assert stored is not None

    report = drain(alice.leap.db, alice.leap.settings)

    assert len(report.sent) == 1
    [(recipients, message)] = smtp.mailbox.received
    assert recipients == ["alice@example.org"]
    assert message["To"] == "alice@example.org"
    assert message["From"] == "LEAP <leap@example.org>"
    assert message["Subject"] == "[LEAP] Processing (trim) failed: Lecture <1>"
    assert message["Message-ID"] == f"<{stored.id}@leap.notifications>"
    assert message["X-Leap-Event"] == "processing.failed"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "no audio stream" in text.get_content() and "stage: trim" in text.get_content()
    assert "<h2>Processing (trim) failed: Lecture &lt;1&gt;</h2>" in html.get_content()
    [delivery] = alice.notifications.deliveries()
    assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == ("sent", 1, None)


def test_email_goes_to_the_address_chosen_in_preferences(alice: UserAPI, smtp: SMTPServer) -> None:
    alice.notifications.set_preferences(email="alerts@example.org")
    with alice.leap.db.session() as session:
        notify(session, alice.user_id, quota_warning_event(alice.user_id, "recordings", 8, 10, "202601"))  # type: ignore[arg-type]
    drain(alice.leap.db, alice.leap.settings)
    [(recipients, message)] = smtp.mailbox.received
    assert recipients == ["alerts@example.org"] and message["Subject"] == "[LEAP] recordings quota at 80% for 202601"


def test_a_dead_mail_server_leaves_the_delivery_pending_with_its_error(alice: UserAPI) -> None:
    settings = alice.leap.settings.model_copy(update={"smtp_port": 9})  # discard port: nothing listens
    with alice.leap.db.session() as session:
        notify(session, alice.user_id, stage_failed("rec1", "L", "trim", "boom", 1))
    now = utcnow()

    report = drain(alice.leap.db, settings, now=now)

    [delivery] = alice.notifications.deliveries()
    assert report.retrying == [delivery["id"]]
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    assert delivery["last_error"] == "could not reach the mail server: ConnectionRefusedError"
    assert now + timedelta(seconds=15) <= delivery["next_attempt_at"] <= now + timedelta(seconds=30)


def test_an_unconfigured_mail_server_fails_the_delivery_for_good(alice: UserAPI) -> None:
    settings = alice.leap.settings.model_copy(update={"smtp_host": None})
    with alice.leap.db.session() as session:
        notify(session, alice.user_id, stage_failed("rec1", "L", "trim", "boom", 1))
    drain(alice.leap.db, settings)
    [delivery] = alice.notifications.deliveries()
    assert (delivery["status"], delivery["last_error"]) == ("failed", "email is not configured: set LEAP_SMTP_HOST")


def secure_settings(api: UserAPI, server: SecureSMTPServer, security: str, **overrides: Any) -> Settings:
    return api.leap.settings.model_copy(update={
        "smtp_port": server.port, "smtp_security": security, "smtp_username": server.authenticator.username,
        "smtp_password": server.authenticator.password, **overrides})


def send_one(api: UserAPI, settings: Settings) -> dict[str, Any]:
    with api.leap.db.session() as session:
        notify(session, api.user_id, stage_failed("rec1", "L", "trim", "boom", 1))
    drain(api.leap.db, settings)
    [delivery] = api.notifications.deliveries()
    return delivery


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_a_tls_server_with_a_private_ca_gets_the_mail_after_an_auth_login(
    alice: UserAPI, request: pytest.FixtureRequest, tls_files: TLSFiles, security: str
) -> None:
    server: SecureSMTPServer = request.getfixturevalue(f"{security}_smtp")
    delivery = send_one(alice, secure_settings(alice, server, security, smtp_ca_file=tls_files.ca_file))
    assert (delivery["status"], delivery["last_error"]) == ("sent", None)
    assert server.authenticator.attempts == [("LOGIN", "leap-mailer")]
    [(recipients, message)] = server.mailbox.received
    assert recipients == ["alice@example.org"] and message["X-Leap-Event"] == "processing.failed"


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_a_certificate_from_an_untrusted_ca_is_refused_before_the_login(
    alice: UserAPI, request: pytest.FixtureRequest, security: str
) -> None:
    server: SecureSMTPServer = request.getfixturevalue(f"{security}_smtp")
    delivery = send_one(alice, secure_settings(alice, server, security))
    assert delivery["status"] == "pending"
    assert delivery["last_error"] == ("the mail server's certificate is not trusted (unable to get local issuer "
                                      "certificate); set LEAP_SMTP_CA_FILE to trust a private CA")
    assert server.authenticator.attempts == [] and server.mailbox.received == []


def test_a_refused_login_is_reported_without_the_password(
    alice: UserAPI, starttls_smtp: SecureSMTPServer, tls_files: TLSFiles, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-but-still-secret-password"
    delivery = send_one(alice, secure_settings(alice, starttls_smtp, "starttls", smtp_ca_file=tls_files.ca_file,
                                               smtp_password=wrong))
    assert (delivery["status"], delivery["last_error"]) == ("pending", "the mail server refused the login (SMTP 535)")
    assert starttls_smtp.mailbox.received == []
    assert wrong not in caplog.text and wrong not in str(alice.notifications.deliveries())


def test_a_server_without_starttls_is_not_sent_the_mail_in_clear(alice: UserAPI, smtp: SMTPServer) -> None:
    delivery = send_one(alice, alice.leap.settings.model_copy(update={"smtp_security": "starttls"}))
    assert delivery["last_error"] == ("the mail server lacks what the settings ask for: "
                                      "STARTTLS extension not supported by server.")
    assert smtp.mailbox.received == []


def test_an_unreadable_ca_file_is_named_in_the_error(alice: UserAPI, ssl_smtp: SecureSMTPServer, tmp_path: Any) -> None:
    missing = tmp_path / "no-such-ca.pem"
    delivery = send_one(alice, secure_settings(alice, ssl_smtp, "ssl", smtp_ca_file=missing))
    assert delivery["last_error"] == f"cannot read LEAP_SMTP_CA_FILE {missing}: No such file or directory"
