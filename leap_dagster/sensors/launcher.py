"""The single launcher: the only code that starts recording runs. Each pending run request becomes a
`RunRequest` whose run_key is the request id, so Dagster itself refuses to launch it twice even if a
tick is evaluated again after a crash; the request is marked launched once its run is seen.
"""


from datetime import timedelta

from dagster import (
    AddDynamicPartitionsRequest,
    DagsterRunStatus,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from leap_core import launcher
from leap_core.audit import Actor
from leap_core.config import default_quotas
from leap_core.operations import request_due_parked
from leap_dagster.jobs import CHECKS_AFTER, CHECKS_TAG, assets_from, recording_pipeline
from leap_dagster.partitions import recordings
from leap_dagster.resources import LeapResource

PARKED_ACTOR = Actor("launcher", origin="sensor")
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def _observe_runs(context: SensorEvaluationContext, leap: LeapResource) -> None:
    """Attach run ids to launched requests and release the slots of runs that have ended."""
    core = leap.get()
    with core.db.session() as session:
        submitted = launcher.submitted_requests(session)
    if submitted:
        runs = context.instance.get_runs(RunsFilter(tags={"leap/request": [str(i) for i in submitted]}))
        seen = {int(run.tags["leap/request"]): run.run_id for run in runs}
        with core.db.session() as session:
            launcher.mark_launched(session, seen)
    with core.db.session() as session:
        active = launcher.launched_run_ids(session)
    if active:
        ended = context.instance.get_runs(RunsFilter(run_ids=active, statuses=list(FINISHED)))
        with core.db.session() as session:
            launcher.mark_finished(session, [run.run_id for run in ended])


def _run_request(item: launcher.LaunchItem) -> RunRequest:
    tags = {
        "leap/user": item.user_id, "leap/recording": item.recording_id, "leap/request": str(item.request_id),
        "leap/reason": item.reason, CHECKS_TAG: CHECKS_AFTER,
        **({"leap/template": item.template_id} if item.template_id else {}),
        **({"leap/automation_job": item.automation_job_id} if item.automation_job_id else {}),
    }
    # No checks in the run itself: the check sensor runs those of the stages that ran (ADR 0032).
    return RunRequest(run_key=item.run_key, partition_key=item.partition_key,
                      asset_selection=assets_from(item.first_stage), asset_check_keys=[], tags=tags)


@sensor(job=recording_pipeline, minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING,
        description="The single launcher: turns LEAP run requests into runs, within each user's concurrency.")
def launcher_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SensorResult | SkipReason:
    _observe_runs(context, leap)
    core = leap.get()
    with core.db.session() as session:
        request_due_parked(session, PARKED_ACTOR, core.settings.parked_max_attempts)
    with core.db.session() as session:
        deletions = launcher.pending_deletions(session)
        restores = launcher.pending_restores(session)
        launcher.mark_done(session, [request_id for request_id, _ in deletions + restores])
        resend = launcher.unconfirmed(session, timedelta(seconds=core.settings.launch_confirm_seconds))
        waiting = launcher.next_batch(session, default_quotas(), core.settings.launcher_batch_size)
        batch = launcher.claim(session, waiting)
    items = batch + resend
    partition_requests: list[AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest] = []
    if items or restores:
        added = {i.partition_key for i in items} | {key for _, key in restores}
        partition_requests.append(recordings.build_add_request(sorted(added)))
    if deletions:
        partition_requests.append(recordings.build_delete_request(sorted({key for _, key in deletions})))
    if not partition_requests:
        return SkipReason("no run requests are waiting")
    return SensorResult(run_requests=[_run_request(i) for i in items], dynamic_partitions_requests=partition_requests)
