"""A sync tick is bounded: past its time budget no new source is listed, and the waiting ones go first next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from leap_core.api import UserAPI
from leap_core.db.models import Source
from leap_core.sources.sync import due, sync_sources
from tests.conftest import TEST_ACTOR


def test_a_spent_budget_stops_new_listings_and_the_left_over_sources_lead_the_next_tick(
    alice: UserAPI, tmp_path: Path
) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        alice.add_local_source(name, tmp_path / name)
    with alice.leap.db.session() as session:
        sources = list(session.scalars(select(Source).order_by(Source.name)))
        session.expunge_all()
    now = datetime.now(UTC)
    listed = {sources[0].id: now - timedelta(minutes=5), sources[1].id: now - timedelta(minutes=9)}

    order = [s.name for s in due(sources, listed, now, alice.leap.settings)]
    summaries = sync_sources(alice.leap.db, TEST_ACTOR, alice.leap.settings, [s.id for s in sources], budget_s=0)

    assert order == ["c", "b", "a"]  # never listed first, then the longest waiting
    assert len(summaries) == 1  # the first source is always listed, so a tick never does nothing
