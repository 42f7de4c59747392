"""Platform credentials: encrypted at rest, listed redacted, re-encrypted on rotation, audited without secrets.

A credential is one account on one platform (a YouTube channel's OAuth grant, a VK access token), named by
its owner so a template can pick it: `presets[platform]["credential"]` holds that name. The secret fields
live only in `credentials.encrypted` (a Fernet token under `LEAP_SECRET_KEY`); what is shown anywhere else
is the `hint`, a redacted tail that tells two accounts apart.

Functions here take an open session and never commit, like `leap_core.recordings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core import audit
from leap_core.audit import Actor
from leap_core.db.models import Credential
from leap_core.db.types import utcnow
from leap_core.errors import NotFoundError, ValidationError
from leap_core.logs import REDACTOR
from leap_core.secrets import SecretBox, redact

FIELDS: Mapping[str, tuple[str, ...]] = {
    # google-auth's `Credentials.to_json()` and an "authorized_user" file hold these (plus fields LEAP drops).
    "youtube": ("refresh_token", "client_id", "client_secret", "token", "testing_mode"),
    "vk": ("token",),
    # Zoom Server-to-Server OAuth app; Yandex Disk OAuth token (sources, not publishing targets).
    # `webhook_secret_token` (optional) verifies the app's pushes to `leap webhooks serve`.
    "zoom": ("account_id", "client_id", "client_secret", "webhook_secret_token"),
    "yandex": ("token",),
}
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "youtube": ("refresh_token", "client_id", "client_secret"),
    "vk": ("token",),
    "zoom": ("account_id", "client_id", "client_secret"),
    "yandex": ("token",),
}
# The field whose tail becomes the hint: the long-lived secret that identifies the grant.
PRINCIPAL: Mapping[str, str] = {"youtube": "refresh_token", "vk": "token", "zoom": "client_secret", "yandex": "token"}
ALIASES: Mapping[str, str] = {"access_token": "token"}
NAME_LIMIT = 100
FIELD_LIMIT = 16 * 1024
"""Bytes (UTF-8) per secret field. Real ones are far smaller (a Google refresh token ~100 B, a VK token
~200 B, a JWT access token a few KB); a 10 MB "token" is a mistake or an attack on the database."""


def secret_fields(platform: str, data: Mapping[str, Any]) -> dict[str, str]:
    """The fields LEAP keeps for `platform`, checked complete; anything else in `data` is dropped."""
    if platform not in FIELDS:
        raise ValidationError(f"no credentials for platform {platform!r}; known: {', '.join(FIELDS)}")
    named = {ALIASES.get(key, key): value for key, value in data.items()}
    kept = {key: str(named[key]).strip() for key in FIELDS[platform] if isinstance(named.get(key), str)}
    for key, value in kept.items():
        size = len(value.encode("utf-8"))
        if size > FIELD_LIMIT:
            raise ValidationError(f"{platform} credential field {key} is {size:,} bytes; the most LEAP stores is "
                                  f"{FIELD_LIMIT:,} (is this the right value?)")
    missing = [key for key in REQUIRED[platform] if not kept.get(key)]
    if missing:
        raise ValidationError(
            f"a {platform} credential needs {', '.join(REQUIRED[platform])} (missing: {', '.join(missing)})"
        )
    return {key: value for key, value in kept.items() if value}


def view(credential: Credential) -> dict[str, Any]:
    """What listings show: never the secret, only its hint."""
    return {
        "id": credential.id, "platform": credential.platform, "name": credential.name, "hint": credential.hint,
        "created_at": credential.created_at, "rotated_at": credential.rotated_at,
    }


def owned(session: Session, user_id: str, platform: str | None = None) -> list[Credential]:
    stmt = select(Credential).where(Credential.user_id == user_id)
    if platform is not None:
        stmt = stmt.where(Credential.platform == platform)
    return list(session.scalars(stmt.order_by(Credential.platform, Credential.name)))


def find(session: Session, user_id: str, platform: str, name: str) -> Credential:
    """The user's credential by platform and name; another user's reads as missing."""
    credential = session.scalar(select(Credential).where(
        Credential.user_id == user_id, Credential.platform == platform, Credential.name == name))
    if credential is None:
        raise NotFoundError(f"no {platform} credential named {name!r}; add one with `leap credentials add`")
    return credential


def for_target(session: Session, user_id: str, platform: str, preset: Mapping[str, Any]) -> Credential:
    """The credential a template's preset names, or the user's only one for the platform when it names none."""
    name = preset.get("credential")
    if name:
        return find(session, user_id, platform, str(name))
    candidates = owned(session, user_id, platform)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise NotFoundError(f"no {platform} credential: add one with `leap credentials add {platform} NAME`")
    names = ", ".join(c.name for c in candidates)
    raise ValidationError(
        f"several {platform} credentials ({names}): name one in the template's {platform} preset as 'credential'"
    )


def add(
    session: Session,
    actor: Actor,
    user_id: str,
    platform: str,
    name: str,
    data: Mapping[str, Any],
    box: SecretBox,
    *,
    replace: bool = False,
) -> Credential:
    """Store a new credential, or with `replace` put a fresh secret (a reconnected account) under the name."""
    name = name.strip()
    if not name or len(name) > NAME_LIMIT:
        raise ValidationError(f"a credential name must be 1 to {NAME_LIMIT} characters")
    fields = secret_fields(platform, data)
    existing = session.scalar(select(Credential).where(
        Credential.user_id == user_id, Credential.platform == platform, Credential.name == name))
    if existing is not None and not replace:
        raise ValidationError(f"you already have a {platform} credential named {name!r} (use --replace)")
    credential = existing or Credential(user_id=user_id, platform=platform, name=name)
    credential.encrypted = box.encrypt(fields)
    credential.hint = redact(fields[PRINCIPAL[platform]])
    if existing is not None:
        credential.rotated_at = utcnow()
    session.add(credential)
    session.flush()
    action = "credential.replace" if existing is not None else "credential.create"
    audit.record(session, actor, action, "credential", credential.id, user_id=user_id,
                 details={"platform": platform, "name": name, "hint": credential.hint})
    return credential


def rotate(session: Session, actor: Actor, rows: Sequence[Credential], box: SecretBox) -> None:
    """Re-encrypt under the newest key, so that older keys can then be removed from LEAP_SECRET_KEY."""
    now = utcnow()
    for credential in rows:
        credential.encrypted = box.rotate(credential.encrypted)
        credential.rotated_at = now
    session.flush()
    audit.record_many(session, actor, "credential.rotate", "credential",
                      [(c.id, c.user_id, {"platform": c.platform, "name": c.name}) for c in rows])


def delete(session: Session, actor: Actor, credential: Credential) -> None:
    audit.record(session, actor, "credential.delete", "credential", credential.id, user_id=credential.user_id,
                 details={"platform": credential.platform, "name": credential.name, "hint": credential.hint})
    session.delete(credential)
    session.flush()


MIN_SECRET_LENGTH = 8
"""Shorter fields (a region, a flag) are not secrets worth scrubbing from every log line."""


def reveal(credential: Credential, box: SecretBox) -> dict[str, str]:
    """The decrypted fields: for handing to a platform client, never for display.

    Each value is registered with the log redactor, so should one ever reach a log line it is scrubbed.
    """
    fields = box.decrypt(credential.encrypted)
    REDACTOR.register(*(value for value in fields.values() if len(value) >= MIN_SECRET_LENGTH))
    return fields
