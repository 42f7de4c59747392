"""Publishing tests' setup and checks: fake platforms wired through LEAP_* settings, a template that targets
them, and the search for a leaked secret in everything LEAP writes for people to read."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pytest
from dagster import DagsterInstance, serialize_value
from sqlalchemy import select

from leap_core.api import UserAPI
from leap_core.db.models import AuditLog, Notification, OutputTarget, ProcessingStage, Template
from leap_core.secrets import SecretBox
from tests.fakes.vk import FakeVK
from tests.fakes.youtube import FakeYouTube

SECRET_KEY = SecretBox.generate_key()


def target_platforms(user: UserAPI, template: str, targets: Sequence[str], presets: dict[str, Any]) -> None:
    """Point the user's template at `targets` with `presets` (recordings registered later get these targets)."""
    with user.leap.db.session() as session:
        row = session.scalar(select(Template).where(Template.user_id == user.user_id, Template.name == template))
        assert row is not None
        row.targets, row.presets = list(targets), presets


def target_row(user: UserAPI, recording_id: str, platform: str) -> OutputTarget:
    with user.leap.db.session() as session:
        row = session.scalar(select(OutputTarget).where(
            OutputTarget.recording_id == recording_id, OutputTarget.platform == platform))
        assert row is not None
        session.expunge(row)
        return row


def readable_records(user: UserAPI, instance: DagsterInstance) -> dict[str, str]:
    """Everything LEAP or Dagster keeps for people to read, by where it is kept, as text."""
    with user.leap.db.session() as session:
        audit = [a.details for a in session.scalars(select(AuditLog))]
        notes = [(n.title, n.body, n.data) for n in session.scalars(select(Notification))]
        stages = [(s.error, s.details) for s in session.scalars(select(ProcessingStage))]
        targets = [(t.error_message, t.url) for t in session.scalars(select(OutputTarget))]
    runs = instance.get_run_records()
    events = [serialize_value(entry) for run in runs for entry in instance.all_logs(run.dagster_run.run_id)]
    return {
        "audit log": json.dumps(audit, default=str),
        "notifications": json.dumps(notes, default=str),
        "stage history": json.dumps(stages, default=str),
        "targets": json.dumps(targets, default=str),
        "dagster event log": "\n".join(events),
    }


def leaked(places: dict[str, str], secrets: Iterable[str]) -> list[str]:
    """`place: secret-prefix` for every secret found; empty when nothing leaked."""
    return [f"{place}: {secret[:8]}…" for place, text in places.items() for secret in secrets if secret in text]


@pytest.fixture
def youtube() -> Iterator[FakeYouTube]:
    """A fake YouTube on 127.0.0.1 for one test (a plugin of tests/conftest.py: every test can ask for it)."""
    with FakeYouTube() as fake:
        yield fake


@pytest.fixture
def vk() -> Iterator[FakeVK]:
    """A fake VK API on 127.0.0.1 for one test."""
    with FakeVK() as fake:
        yield fake
