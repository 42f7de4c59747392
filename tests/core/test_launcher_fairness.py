"""The launcher's request selection: round-robin over users with free slots, in SQL, on both backends."""

from __future__ import annotations

from pathlib import Path

from leap_core import launcher
from leap_core.api import Leap, UserAPI, create_user
from leap_core.config import QuotaDefaults
from tests.conftest import TEST_ACTOR
from tests.support.admins import make_admin
from tests.support.builders import add_inbox, register_many


def user(leap: Leap, slug: str, tmp_path: Path) -> UserAPI:
    api = leap.as_user(create_user(leap.db, TEST_ACTOR, slug, None, "user")["id"], TEST_ACTOR)
    add_inbox(api, tmp_path)
    return api


def test_users_take_turns_each_in_their_own_order_within_their_free_slots(leap: Leap, tmp_path: Path) -> None:
    ann, ben, cat = (user(leap, slug, tmp_path) for slug in ("ann", "ben", "cat"))
    admin = make_admin(leap)
    admin.create_plan("two-at-a-time", max_concurrent_tasks=2)
    admin.subscribe("ben", "two-at-a-time")
    a = register_many(ann, 4)
    b = register_many(ben, 4)
    c = register_many(cat, 1)
    with leap.db.session() as session:
        batch = launcher.next_batch(session, QuotaDefaults(), 6)
    assert [item.recording_id for item in batch] == [a[0], b[0], c[0], a[1], b[1], a[2]]
    with leap.db.session() as session:
        launcher.claim(session, batch)
        assert launcher.free_slots(session, QuotaDefaults(), 6) == {f"{ann.user_id}": 6}
        assert [item.recording_id for item in launcher.next_batch(session, QuotaDefaults(), 6)] == [a[3]]
