"""The daily credential health check: owners learn of a dead YouTube grant before a scheduled upload does.

A grant is refreshed once; a refusal (revoked, expired, or an app in Google's Testing mode whose
refresh tokens die after 7 days) becomes one `credential.unhealthy` notification per credential per
day. A credential stored with `testing_mode` set is also warned about on its sixth day, before it dies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from leap_core import credentials
from leap_core.config import Settings
from leap_core.db.models import Credential
from leap_core.db.session import Database
from leap_core.errors import LeapError
from leap_core.notifications.events import credential_unhealthy, notify
from leap_core.publishing.platforms import PlatformConfig
from leap_core.publishing.youtube import YouTubePublisher
from leap_core.secrets import SecretBox

TESTING_MODE_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class HealthResult:
    credential_id: str
    user_id: str
    name: str
    problem: str | None


def _problem(credential: Credential, secret: dict[str, str], config: PlatformConfig, now: datetime) -> str | None:
    try:
        YouTubePublisher(secret, root_url=config.youtube_root_url, token_uri=config.google_token_uri).check_health()
    except LeapError as exc:
        return str(exc)
    expires = (credential.rotated_at or credential.created_at) + TESTING_MODE_LIFETIME
    if secret.get("testing_mode") and expires - now < timedelta(days=1):
        return f"the app is in Google's Testing mode: this grant expires at {expires:%Y-%m-%d %H:%M} UTC"
    return None


def check_youtube_credentials(db: Database, settings: Settings, now: datetime) -> list[HealthResult]:
    """Check every stored YouTube credential; notify the owners of the unhealthy ones."""
    box = SecretBox(settings.secret_keys)
    config = PlatformConfig.from_settings(settings)
    with db.session() as session:
        rows = list(session.scalars(select(Credential).where(Credential.platform == "youtube")))
        for row in rows:
            session.expunge(row)
    results = []
    for row in rows:
        problem = _problem(row, credentials.reveal(row, box), config, now)
        results.append(HealthResult(row.id, row.user_id, row.name, problem))
        if problem is not None:
            with db.session() as session:
                notify(session, row.user_id,
                       credential_unhealthy(row.id, "youtube", row.name, problem, now.date().isoformat()))
    return results
