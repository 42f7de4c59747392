"""A real SMTP server (aiosmtpd) and a webhook receiver on 127.0.0.1, and a `Leap` configured to use them;
for the secure modes, a private CA and a server certificate for 127.0.0.1 made at test time."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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


@dataclass(frozen=True)
class TLSFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: ec.EllipticCurvePrivateKey,
                 *, ca: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if not ca:
        builder = (builder
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                                  critical=False))
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A private CA (what LEAP_SMTP_CA_FILE trusts) and the certificate it signed for the server at 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("LEAP test CA", ca_key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LEAP test CA")]),
                      ca_key, ca=True)
    server = _certificate("127.0.0.1", server_key, ca.subject, ca_key, ca=False)
    files = TLSFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return files


@dataclass
class Authenticator:
    """aiosmtpd's authenticator: accepts one login and records each attempt's mechanism and user name."""

    username: str
    password: str
    attempts: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.attempts.append((mechanism, data.login.decode()))
        accepted = (data.login.decode(), data.password.decode()) == (self.username, self.password)
        return AuthResult(success=accepted, handled=False)  # not handled: the server answers 535 on a refusal


@dataclass
class SecureSMTPServer(SMTPServer):
    authenticator: Authenticator


def secure_smtp_server(tls_files: TLSFiles, mode: str) -> Iterator[SecureSMTPServer]:
    """A server that wants TLS (STARTTLS required, or SSL from the first byte) and an AUTH LOGIN."""
    mailbox, authenticator = Mailbox(), Authenticator("leap-mailer", "correct horse battery staple")
    # Over SMTPS aiosmtpd cannot tell the session is encrypted, so it offers AUTH only if not told to wait for TLS.
    tls: dict[str, Any] = ({"tls_context": tls_files.server_context(), "require_starttls": True} if mode == "starttls"
                           else {"ssl_context": tls_files.server_context(), "auth_require_tls": False})
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_required=True, auth_exclude_mechanism=["PLAIN"], **tls)
    controller.start()
    try:
        yield SecureSMTPServer("127.0.0.1", controller.port, mailbox, authenticator)
    finally:
        controller.stop()


@pytest.fixture
def starttls_smtp(tls_files: TLSFiles) -> Iterator[SecureSMTPServer]:
    yield from secure_smtp_server(tls_files, "starttls")


@pytest.fixture
def ssl_smtp(tls_files: TLSFiles) -> Iterator[SecureSMTPServer]:
    yield from secure_smtp_server(tls_files, "ssl")


@pytest.fixture
def receiver() -> Iterator[FakeHTTPServer]:
    yield from fake_http_server()


def notifying_settings(home: Path, url: str, smtp_port: int, **overrides: Any) -> Settings:
    return Settings(home=home, database_url=url, secret_key=SECRET_KEY, smtp_host="127.0.0.1", smtp_port=smtp_port,
                    smtp_security="none", smtp_from="LEAP <leap@example.org>", smtp_timeout_s=5.0,
                    webhook_timeout_s=5.0, notify_max_attempts=4, notify_backoff_s=30.0,
                    webhook_allowed_networks="127.0.0.0/8", **overrides)  # the fake receiver is on loopback


@pytest.fixture
def leap(tmp_path: Path, database_url: str, smtp: SMTPServer) -> Iterator[Leap]:
    """The shared `leap` fixture, with email going to the test SMTP server and a secret key for webhooks."""
    instance = Leap(notifying_settings(tmp_path / "home", database_url, smtp.port, local_source_roots=str(tmp_path)),
                    Database(database_url))
    yield instance
    instance.db.dispose()


def add_webhook(api: UserAPI, receiver: FakeHTTPServer, events: list[str]) -> None:
    api.notifications.set_preferences(webhook_url=f"{receiver.url}/hooks/leap", webhook_secret=WEBHOOK_SECRET,
                                      events={e: ["in_app", "webhook"] for e in events})
