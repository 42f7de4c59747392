"""The daily credential health check: owners learn of a dead or unfit platform grant before a scheduled
upload does.

Each stored YouTube and VK credential gets one live call: YouTube's grant is refreshed (revoked, expired,
or an app in Google's Testing mode whose refresh tokens die after 7 days), VK is asked what the token may
do (expired, a community token, or a user token without the video right). A refusal becomes one
`credential.unhealthy` notification per credential per day. A YouTube credential stored with
`testing_mode` set is also warned about on its sixth day, before it dies. A platform that cannot be
reached says nothing about the credential: that is logged and reported as `unchecked`, never notified.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from leap_core import credentials
from leap_core.config import Settings
from leap_core.db.models import Credential
from leap_core.db.session import Database
from leap_core.errors import LeapError
from leap_core.notifications.events import credential_unhealthy, notify
from leap_core.publishing.base import ReconnectRequired
from leap_core.publishing.platforms import PlatformConfig
from leap_core.secrets import SecretBox

CHECKED_PLATFORMS = ("youtube", "vk")
TESTING_MODE_LIFETIME = timedelta(days=7)

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthResult:
    credential_id: str
    user_id: str
    platform: str
    name: str
    problem: str | None
    unchecked: str | None = None


def _probe(platform: str, secret: Mapping[str, str], config: PlatformConfig) -> None:
    """One live call that the platform refuses when the stored credential cannot publish."""
    # Client modules imported on use: their libraries are heavy (fast Dagster run-worker start-up).
    if platform == "youtube":
        from leap_core.publishing.youtube import YouTubePublisher

        YouTubePublisher(secret, root_url=config.youtube_root_url, token_uri=config.google_token_uri).check_health()
    else:
        from leap_core.publishing.vk import VkPublisher

        VkPublisher(secret.get("token", ""), api_url=config.vk_api_url).check_health()


def _testing_mode_warning(credential: Credential, secret: Mapping[str, str], now: datetime) -> str | None:
    expires = (credential.rotated_at or credential.created_at) + TESTING_MODE_LIFETIME
    if secret.get("testing_mode") and expires - now < timedelta(days=1):
        return f"the app is in Google's Testing mode: this grant expires at {expires:%Y-%m-%d %H:%M} UTC"
    return None


def _check(credential: Credential, secret: Mapping[str, str], config: PlatformConfig, now: datetime) -> HealthResult:
    def result(problem: str | None, unchecked: str | None = None) -> HealthResult:
        return HealthResult(credential.id, credential.user_id, credential.platform, credential.name, problem, unchecked)

    try:
        _probe(credential.platform, secret, config)
    except ReconnectRequired as exc:
        return result(str(exc))
    except LeapError as exc:
        _log.warning("could not check %s credential %s: %s", credential.platform, credential.id, exc)
        return result(None, str(exc))
    return result(_testing_mode_warning(credential, secret, now))


def check_credentials(db: Database, settings: Settings, now: datetime) -> list[HealthResult]:
    """Check every stored YouTube and VK credential; notify the owners of the unhealthy ones."""
    box = SecretBox(settings.secret_keys)
    config = PlatformConfig.from_settings(settings)
    with db.session() as session:
        rows = list(session.scalars(select(Credential).where(Credential.platform.in_(CHECKED_PLATFORMS))
                                    .order_by(Credential.created_at, Credential.id)))
        for row in rows:
            session.expunge(row)
    results = [_check(row, credentials.reveal(row, box), config, now) for row in rows]
    for row, checked in zip(rows, results, strict=True):
        if checked.problem is not None:
            with db.session() as session:
                notify(session, row.user_id, credential_unhealthy(
                    row.id, row.platform, row.name, checked.problem, now.date().isoformat()))
    return results
