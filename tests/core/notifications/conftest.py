"""A real SMTP server (aiosmtpd) and a webhook receiver on 127.0.0.1, and a `Leap` configured to use them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from leap_core.api import Leap, UserAPI
from leap_core.config import Settings
from leap_core.db.session import Database
from leap_core.secrets import SecretBox
from tests.fakes.http_server import FakeHTTPServer, fake_http_server

SECRET_KEY = SecretBox.generate_key()
WEBHOOK_SECRET = "whsec-0123456789abcdef-shh"


@dataclass
class Mailbox:
    """What the SMTP server accepted: one (envelope recipients, parsed message) per message."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(raw, policy=policy.default)))
        return "250 OK"


@dataclass
class SMTPServer:
    host: str
    port: int
    mailbox: Mailbox


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", controller.port, mailbox)
    finally:
        controller.stop()


@pytest.fixture
def receiver() -> Iterator[FakeHTTPServer]:
    yield from fake_http_server()


def notifying_settings(home: Path, url: str, smtp_port: int, **overrides: Any) -> Settings:
    return Settings(home=home, database_url=url, secret_key=SECRET_KEY, smtp_host="127.0.0.1", smtp_port=smtp_port,
                    smtp_security="none", smtp_from="LEAP <leap@example.org>", smtp_timeout_s=5.0,
                    webhook_timeout_s=5.0, notify_max_attempts=4, notify_backoff_s=30.0, **overrides)


@pytest.fixture
def leap(tmp_path: Path, database_url: str, smtp: SMTPServer) -> Iterator[Leap]:
    """The shared `leap` fixture, with email going to the test SMTP server and a secret key for webhooks."""
    instance = Leap(notifying_settings(tmp_path / "home", database_url, smtp.port), Database(database_url))
    yield instance
    instance.db.dispose()


def add_webhook(api: UserAPI, receiver: FakeHTTPServer, events: list[str]) -> None:
    api.notifications.set_preferences(webhook_url=f"{receiver.url}/hooks/leap", webhook_secret=WEBHOOK_SECRET,
                                      events={e: ["in_app", "webhook"] for e in events})
