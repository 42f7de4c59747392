"""The outbox is a table: it survives restarts, and concurrent drains never send one delivery twice."""

from __future__ import annotations

from datetime import timedelta

from leap_core.api import UserAPI
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.notifications import notify, stage_failed
from leap_core.notifications.outbox import LEASE, claim, drain, due
from tests.core.notifications.conftest import SMTPServer


def queue_failure(api: UserAPI, attempt: int = 1) -> None:
    with api.leap.db.session() as session:
        notify(session, api.user_id, stage_failed("rec1", "L", "trim", "boom", attempt))


def test_queued_deliveries_survive_a_restart(alice: UserAPI, smtp: SMTPServer) -> None:
    queue_failure(alice)
    alice.leap.db.dispose()  # the process that queued it is gone

    restarted = Database(alice.leap.db.url)
    try:
        report = drain(restarted, alice.leap.settings)
    finally:
        restarted.dispose()

    assert len(report.sent) == 1 and len(smtp.mailbox.received) == 1


def test_a_delivery_is_claimed_by_one_drain_only(alice: UserAPI) -> None:
    queue_failure(alice)
    other_process = Database(alice.leap.db.url)
    try:
        now = utcnow()
        [seen_here] = due(alice.leap.db, now, 10)
        [seen_there] = due(other_process, now, 10)  # both drains read the row before either claims it
        first = claim(alice.leap.db, seen_here, now)
        second = claim(other_process, seen_there, now)
    finally:
        other_process.dispose()
    assert first is not None and second is None


def test_a_drain_that_died_mid_send_is_taken_over_once_its_lease_runs_out(alice: UserAPI, smtp: SMTPServer) -> None:
    queue_failure(alice)
    now = utcnow()
    [item] = due(alice.leap.db, now, 10)
    abandoned = claim(alice.leap.db, item, now)  # claimed, then the worker died before sending
    assert abandoned is not None

    assert drain(alice.leap.db, alice.leap.settings, now=now + timedelta(seconds=1)).sent == []
    report = drain(alice.leap.db, alice.leap.settings, now=now + LEASE)

    assert report.sent == [abandoned.delivery_id] and len(smtp.mailbox.received) == 1
    [delivery] = alice.notifications.deliveries()
    assert (delivery["status"], delivery["attempts"]) == ("sent", 2)


def test_the_oldest_due_deliveries_go_first_within_the_limit(alice: UserAPI, smtp: SMTPServer) -> None:
    for attempt in range(3):
        queue_failure(alice, attempt)
    assert len(drain(alice.leap.db, alice.leap.settings, limit=2).sent) == 2
    assert len(drain(alice.leap.db, alice.leap.settings, limit=2).sent) == 1
    assert len(smtp.mailbox.received) == 3
