"""A step blocked on a full concurrency pool waits asleep: its run does not spin a core beside the step it waits for."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from dagster import DagsterInstance, asset, instance_for_test, materialize
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

from leap_dagster import pool_wait

POOL = "test-pool"


def _blocked_context(seconds_to_recheck: float) -> InstanceConcurrencyContext:
    pending = SimpleNamespace(_pending_claims={"step"}, _pending_timeouts={"step": time.time() + seconds_to_recheck})
    return pending  # type: ignore[return-value]


def test_dagsters_own_interval_still_says_recheck_at_once_so_the_fix_is_still_needed() -> None:
    assert pool_wait.DAGSTER_INTERVAL(_blocked_context(5.0)) == 0


def test_the_installed_interval_is_the_time_until_the_next_recheck() -> None:
    assert InstanceConcurrencyContext.interval_to_next_pending_claim_check(_blocked_context(5.0)) == pytest.approx(
        5.0, abs=0.5)
    assert InstanceConcurrencyContext.interval_to_next_pending_claim_check(_blocked_context(-1.0)) == 0


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots(POOL, 1)
        yield instance


@asset(pool=POOL)
def pooled() -> int:
    return 1


def test_a_run_blocked_on_a_full_pool_checks_a_few_times_not_thousands(
    instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = 0
    installed = InstanceConcurrencyContext.interval_to_next_pending_claim_check

    def counted(self: InstanceConcurrencyContext) -> float:
        nonlocal checks
        checks += 1
        return installed(self)

    monkeypatch.setattr(InstanceConcurrencyContext, "interval_to_next_pending_claim_check", counted)
    instance.event_log_storage.claim_concurrency_slot(POOL, "another-run", "its-step", 0)
    release = threading.Timer(2.0, instance.event_log_storage.free_concurrency_slot_for_step,
                              args=("another-run", "its-step"))
    release.start()
    try:
        result = materialize([pooled], instance=instance)
    finally:
        release.cancel()
    assert result.success
    assert 0 < checks < 20
