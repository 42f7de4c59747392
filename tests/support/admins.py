"""An admin for tests that exercise the admin API: created through the same path `leap init` uses."""

from __future__ import annotations

from leap_core.api import AdminAPI, Leap, create_user
from tests.conftest import TEST_ACTOR


def make_admin(leap: Leap, slug: str = "root") -> AdminAPI:
    create_user(leap.db, TEST_ACTOR, slug, None, "admin")
    return leap.admin(slug)
