"""Putting the pool table (leap_core.pools) into a Dagster instance, and reading the pools back.

dagster.yaml can hold only a default pool limit, so the per-pool limits are rows in the instance's
storage. They are written on every start-up path — `leap init` (and so `./scripts/dev`),
`deploy/commands.sh pools|daemon` — through `python -m leap_dagster.pools apply`, and the
`pool_limits_sensor` writes them again from the daemon, so an instance nobody set up (a bare
`dagster dev`) converges within one tick. Writing is idempotent: only a differing limit is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dagster import DagsterInstance, DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from leap_core.config import get_settings
from leap_core.pools import POOLS


def apply_pool_limits(instance: DagsterInstance, limits: dict[str, int]) -> dict[str, int]:
    """Set each pool whose stored limit differs; returns the pools written and their new limits."""
    storage = instance.event_log_storage
    current = storage.get_concurrency_infos(list(limits))
    changed = {name: limit for name, limit in limits.items()
               if name not in storage.get_concurrency_keys() or current[name].slot_count != limit}
    for name, limit in changed.items():
        storage.set_concurrency_slots(name, limit)
    return changed


def pool_rows(instance: DagsterInstance, limits: dict[str, int]) -> list[dict[str, Any]]:
    """One row per LEAP pool: LEAP's limit, the instance's, the steps holding a slot and those waiting."""
    storage = instance.event_log_storage
    known = storage.get_concurrency_keys()
    infos = storage.get_concurrency_infos(list(limits))
    return [{
        "pool": name,
        "limit": limit,
        "instance_limit": infos[name].slot_count if name in known else None,
        "in_use": len(infos[name].claimed_slots),
        "pending": infos[name].pending_step_count,
        "holds": POOLS[name].holds,
    } for name, limit in limits.items()]


@sensor(minimum_interval_seconds=300, default_status=DefaultSensorStatus.RUNNING,
        description="Keeps the instance's pool limits equal to LEAP's table (LEAP_POOL_<NAME> overrides).")
def pool_limits_sensor(context: SensorEvaluationContext) -> SkipReason:
    changed = apply_pool_limits(context.instance, get_settings().pool_limits.as_dict())
    if changed:
        context.log.info("pool limits set: %s", ", ".join(f"{k}={v}" for k, v in changed.items()))
        return SkipReason(f"pool limits set: {changed}")
    return SkipReason("pool limits as configured")


def main(argv: list[str] | None = None) -> int:
    """`python -m leap_dagster.pools apply|show [--json]` on the instance DAGSTER_HOME names."""
    parser = argparse.ArgumentParser(prog="python -m leap_dagster.pools", description=__doc__)
    parser.add_argument("action", choices=["apply", "show"])
    parser.add_argument("--json", action="store_true", dest="as_json")
    args = parser.parse_args(argv)
    limits = get_settings().pool_limits.as_dict()
    with DagsterInstance.get() as instance:
        if args.action == "apply":
            changed = apply_pool_limits(instance, limits)
            payload: Any = {"limits": limits, "changed": changed}
        else:
            payload = pool_rows(instance, limits)
    if args.as_json:
        print(json.dumps(payload))
    elif args.action == "apply":
        print(" ".join(f"{name}={limit}" for name, limit in limits.items()))
    else:
        for row in payload:
            print(f"{row['pool']}: {row['in_use']}/{row['instance_limit']} in use, {row['pending']} pending")
    return 0


if __name__ == "__main__":
    sys.exit(main())
