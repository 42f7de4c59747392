"""A run whose next step waits for a concurrency pool slot should sleep, not spin.

Dagster 1.13's executors ask `InstanceConcurrencyContext.interval_to_next_pending_claim_check()` how
long to sleep before re-checking a blocked step, and it answers `min([0, *time_left])`: never more
than zero, so the loop re-polls at once, for as long as the pool stays full (dagster-io/dagster#20367,
closed in 2024, addressed the same function; 1.13.27 still has it). On LEAP's two cores a run waiting
for the `transcription` pool then burns a whole core beside the Whisper it is waiting for, which slowed
the running transcription by half (bench/orchestration.py; ADR 0013). The replacement returns the time
until the earliest re-check, so the executor sleeps until its own back-off says to look again.
"""

from __future__ import annotations

import time

from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

DAGSTER_INTERVAL = InstanceConcurrencyContext.interval_to_next_pending_claim_check
"""Dagster's own, kept so a test notices the day it stops returning zero and this module can go."""


def _time_to_next_claim_check(self: InstanceConcurrencyContext) -> float:
    if not self._pending_claims:
        return 0.0
    now = time.time()
    return max(0.0, min((ready_at - now for ready_at in self._pending_timeouts.values()), default=0.0))


def sleep_while_waiting_for_pools() -> None:
    """Install the corrected interval in this process (idempotent): every run worker imports `leap_dagster`."""
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = _time_to_next_claim_check  # type: ignore[method-assign]
