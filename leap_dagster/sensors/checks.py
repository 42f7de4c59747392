"""The check sensor: after a recording run ends, the asset checks of exactly the stages it materialised.

A check planned in a run that then fails is shown by Dagster as "execution failed" (Dagster 1.13 has
no skippable check spec, dagster-io/dagster#28461), so a failure at download used to mark the trim,
transcript, chapter and subtitle checks failed although those stages never ran. The launcher's runs
therefore plan no checks, and this sensor follows each ended run with one run of `recording_pipeline`
for its partition that selects no asset and only the checks of the assets it materialised (tagged
`leap/checks_of`; a separate checks-only job cannot take a partition key in Dagster 1.13): a stage that never ran has no
check result at all, a stage that ran is checked against what it stored (ADR 0032).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    EventLogRecord,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from leap_dagster.checks import ALL_CHECKS
from leap_dagster.jobs import CHECKS_AFTER, CHECKS_OF_TAG, CHECKS_TAG, recording_pipeline

FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
BATCH = 200
"""Materialisations read per checked asset per tick; the rest are read on the next tick."""
CHECKS_OF: dict[AssetKey, list[AssetCheckKey]] = defaultdict(list)
for _check in ALL_CHECKS:
    for _key in _check.check_keys:
        CHECKS_OF[_key.asset_key].append(_key)


@dataclass
class Found:
    partition: str
    recording: str | None
    checks: set[AssetCheckKey]


def planned_no_checks(run: DagsterRun) -> bool:
    """The launcher's runs select no check and say so with a tag; a run from the UI plans its own. Not the
    `leap/request` tag (admission tags the UI's runs with it too), nor the run's stored check selection
    (an in-process run does not store it)."""
    return run.tags.get(CHECKS_TAG) == CHECKS_AFTER


def ended_runs_checks(instance: DagsterInstance, after: int) -> tuple[dict[str, Found], int]:
    """The checks due per launcher run that has ended, and the new cursor (an event storage id).

    The cursor never passes a materialisation of a run still going (its checks wait for its end), nor
    the last record of an asset whose batch was full (the other assets' later records come next tick).
    """
    records: list[EventLogRecord] = []
    ceiling: int | None = None
    for asset_key in CHECKS_OF:
        batch = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=asset_key, after_storage_id=after), limit=BATCH, ascending=True).records
        records += batch
        if len(batch) == BATCH:
            ceiling = min(ceiling or batch[-1].storage_id, batch[-1].storage_id)
    runs: dict[str, DagsterRun | None] = {}
    due: dict[str, Found] = {}
    cursor = after
    for record in sorted(records, key=lambda r: r.storage_id):
        if ceiling is not None and record.storage_id > ceiling:
            break
        run = runs[record.run_id] if record.run_id in runs else instance.get_run_by_id(record.run_id)
        runs[record.run_id] = run
        if run is not None and run.status not in FINISHED:
            break
        cursor = record.storage_id
        if run is None or not planned_no_checks(run) or record.partition_key is None or record.asset_key is None:
            continue  # runs started by hand (the UI's Materialize) plan their checks themselves
        found = due.setdefault(run.run_id, Found(record.partition_key, run.tags.get("leap/recording"), set()))
        found.checks.update(CHECKS_OF[record.asset_key])
    return due, cursor


@sensor(job=recording_pipeline, minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING,
        description="After a recording run ends, runs the checks of the stages it materialised (ADR 0032).")
def check_sensor(context: SensorEvaluationContext) -> SensorResult:
    due, cursor = ended_runs_checks(context.instance, int(context.cursor or 0))
    requests = [
        RunRequest(run_key=f"checks-{run_id}", partition_key=found.partition, asset_selection=[],
                   asset_check_keys=sorted(found.checks, key=lambda k: k.to_user_string()),
                   tags={CHECKS_OF_TAG: run_id, **({"leap/recording": found.recording} if found.recording else {})})
        for run_id, found in due.items()
    ]
    return SensorResult(run_requests=requests, cursor=str(cursor))
