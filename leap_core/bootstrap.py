"""`leap init`: the embedded default's first start — schema, a demo admin, an inbox folder and its template."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from leap_core.api import Leap, create_user
from leap_core.audit import Actor
from leap_core.db import schema
from leap_core.db.models import User

DEMO_SLUG = "demo"
INBOX_TEMPLATE: dict[str, Any] = {
    "name": "inbox",
    "targets": ["local"],
    "process_on_arrival": True,
    # A demo clip is short: here only under 3 s of speech (or 2 s in all) is blank; the defaults are 30 s and 10 s.
    "trim": {"blank_min_speech_s": 3.0, "min_duration_s": 2.0},
}


def init_embedded(leap: Leap) -> dict[str, Any]:
    """Idempotent: migrates, and seeds the demo user, inbox source and template only on an empty database.

    Both happen under the migration lock, so two `leap init` starting together migrate and seed once.
    """
    with schema.migration_lock(leap.db.engine):
        schema.upgrade_holding_lock(leap.db.engine, leap.db.url)
        return _seed(leap)


def _seed(leap: Leap) -> dict[str, Any]:
    with leap.db.session() as session:
        existing = session.scalar(select(User).where(User.slug == DEMO_SLUG))
    inbox = leap.settings.resolved_inbox_dir
    if existing is not None:
        return {"user": DEMO_SLUG, "inbox": str(inbox), "created": False}
    actor = Actor("leap-init", origin="cli")
    user = create_user(leap.db, actor, DEMO_SLUG, None, "admin")
    api = leap.as_user(user["id"], actor)
    api.add_local_source("inbox", inbox)
    api.add_template(**INBOX_TEMPLATE)
    return {"user": DEMO_SLUG, "inbox": str(inbox), "created": True}
