"""The single launcher: the only code that starts recording runs. Each pending run request becomes a
`RunRequest` whose run_key is the request id, so Dagster itself refuses to launch it twice even if a
tick is evaluated again after a crash; the request is marked launched once its run is seen.
"""


from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from leap_core import launcher
from leap_core.config import default_quotas
from leap_dagster.jobs import assets_from, recording_pipeline
from leap_dagster.partitions import recordings
from leap_dagster.resources import LeapResource

FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def _observe_runs(context: SensorEvaluationContext, leap: LeapResource) -> None:
    """Attach run ids to launched requests and release the slots of runs that have ended."""
    core = leap.get()
    with core.db.session() as session:
        submitted = launcher.submitted_requests(session)
        active = launcher.launched_run_ids(session)
    if submitted:
        runs = context.instance.get_runs(RunsFilter(tags={"leap/request": [str(i) for i in submitted]}))
        seen = {int(run.tags["leap/request"]): run.run_id for run in runs}
        with core.db.session() as session:
            launcher.mark_launched(session, seen)
    if active:
        ended = context.instance.get_runs(RunsFilter(run_ids=active, statuses=list(FINISHED)))
        with core.db.session() as session:
            launcher.mark_finished(session, [run.run_id for run in ended])


@sensor(job=recording_pipeline, minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING,
        description="The single launcher: turns LEAP run requests into runs, within each user's concurrency.")
def launcher_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SensorResult | SkipReason:
    _observe_runs(context, leap)
    core = leap.get()
    with core.db.session() as session:
        batch = launcher.next_batch(session, default_quotas(), core.settings.launcher_batch_size)
        launcher.mark_submitted(session, [item.request_id for item in batch])
    if not batch:
        return SkipReason("no run requests are waiting")
    keys = sorted({item.partition_key for item in batch})
    requests = [
        RunRequest(
            run_key=item.run_key,
            partition_key=item.partition_key,
            asset_selection=assets_from(item.first_stage),
            tags={
                "leap/user": item.user_id, "leap/recording": item.recording_id, "leap/request": str(item.request_id),
                "leap/reason": item.reason,
                **({"leap/template": item.template_id} if item.template_id else {}),
                **({"leap/automation_job": item.automation_job_id} if item.automation_job_id else {}),
            },
        )
        for item in batch
    ]
    return SensorResult(run_requests=requests, dynamic_partitions_requests=[recordings.build_add_request(keys)])
