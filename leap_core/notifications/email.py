"""The email channel: one multipart (plain text + HTML) message per notification over SMTP.

Security and authentication follow the settings: `LEAP_SMTP_SECURITY` none, starttls (default) or ssl,
and `LEAP_SMTP_USERNAME`/`LEAP_SMTP_PASSWORD` when the server wants a login (never logged nor shown).
The server's certificate is verified against the system's trust store, or only against the CA in
`LEAP_SMTP_CA_FILE` for a server with a private CA. The Message-ID is derived
from the notification id, so a mail client can fold the rare duplicate (a worker that died after the
server accepted the message but before the outbox recorded it).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from leap_core.config import Settings
from leap_core.notifications.delivery import DeliveryError, Letter
from leap_core.notifications.templates import render_html, render_text

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


def compose(letter: Letter, sender: str, recipient: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"[LEAP] {letter.title}"
    message["Date"] = format_datetime(letter.created_at)
    message["Message-ID"] = f"<{letter.id}@leap.notifications>"
    message["X-Leap-Event"] = letter.type
    message.set_content(render_text(letter))
    message.add_alternative(render_html(letter), subtype="html")
    return message


def send_email(settings: Settings, recipient: str, letter: Letter) -> None:
    if not settings.smtp_host:
        raise DeliveryError("email is not configured: set LEAP_SMTP_HOST", permanent=True)
    message = compose(letter, settings.smtp_from, recipient)
    try:
        with _connect(settings) as smtp:
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryError(f"the mail server refused the recipient {recipient}", permanent=True) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"the mail server lacks what the settings ask for: {exc}") from None
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(f"the mail server's certificate is not trusted ({exc.verify_message}); "
                            "set LEAP_SMTP_CA_FILE to trust a private CA") from None
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"the mail server refused the login (SMTP {exc.smtp_code})") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"the mail server answered SMTP {exc.smtp_code}",
                            permanent=500 <= exc.smtp_code < 600) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"could not reach the mail server: {type(exc).__name__}") from None


def _connect(settings: Settings) -> smtplib.SMTP:
    host, security = settings.smtp_host or "", settings.smtp_security
    port = settings.smtp_port or DEFAULT_PORTS[security]
    if security == "ssl":
        return smtplib.SMTP_SSL(host, port, timeout=settings.smtp_timeout_s, context=_tls_context(settings))
    smtp = smtplib.SMTP(host, port, timeout=settings.smtp_timeout_s)
    if security == "starttls":
        try:
            smtp.starttls(context=_tls_context(settings))
        except BaseException:
            smtp.close()
            raise
    return smtp


def _tls_context(settings: Settings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=settings.smtp_ca_file)
    except OSError as exc:
        raise DeliveryError(f"cannot read LEAP_SMTP_CA_FILE {settings.smtp_ca_file}: {exc.strerror or exc}") from None
