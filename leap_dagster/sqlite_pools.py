"""On SQLite, pool slots are claimed one process at a time, so a pool of one never runs two steps.

Dagster claims a slot in separate statements: count the assigned pending steps, insert this step as
assigned if a slot looked free, then read a free slot row and update it by id
(`SqlEventLogStorage.claim_concurrency_slot`). PostgreSQL serialises the last two with
`SELECT … FOR UPDATE SKIP LOCKED`; SQLite ignores `FOR UPDATE`, so two run workers reaching a pooled
step at the same instant both read the one free `media` slot and both take it. CI caught two trims
overlapping under `media` = 1 (tests/dagster/test_pools.py, 1 run in about 15), and
tests/dagster/test_sqlite_pools.py reproduces it on Dagster's own storage every time. A lock file
beside the instance's index database makes the claims of every process take turns; a claim is a few
milliseconds of SQL, and only run workers claim, so nothing waits behind it for long
(docs/adr/0043-pool-claims-in-turn-on-sqlite.md).

Installed like `pool_wait`: every process that runs steps imports `leap_dagster`.
"""

from __future__ import annotations

import os

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._utils.concurrency import ConcurrencyClaimStatus
from filelock import FileLock

LOCK_FILE = "pools.lock"
"""In the event log's directory (`$DAGSTER_HOME/history/runs/`), beside `index.db`."""

DAGSTER_CLAIM = SqliteEventLogStorage.claim_concurrency_slot
"""Dagster's own claim, which the replacement calls under the lock."""


def pool_lock(storage: SqliteEventLogStorage) -> FileLock:
    """The instance-wide lock of `storage`'s pool claims: one file, so every process sees the same lock."""
    return FileLock(os.path.join(storage._base_dir, LOCK_FILE))


def _claim_in_turn(self: SqliteEventLogStorage, concurrency_key: str, run_id: str, step_key: str,
                   priority: int | None = None) -> ConcurrencyClaimStatus:
    with pool_lock(self):
        return DAGSTER_CLAIM(self, concurrency_key, run_id, step_key, priority)


def claim_pool_slots_in_turn() -> None:
    """Install the serialised claim in this process (idempotent); PostgreSQL storage is left as it is."""
    SqliteEventLogStorage.claim_concurrency_slot = _claim_in_turn  # type: ignore[method-assign,assignment]
