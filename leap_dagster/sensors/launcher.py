"""The single launcher: the only code that starts recording runs. Each pending run request becomes a
`RunRequest` whose run_key is the request id, so Dagster itself refuses to launch it twice even if a
tick is evaluated again after a crash; the request is marked launched once its run is seen.

It also removes and re-adds recordings' partitions (delete, archive, restore), itself, through the
instance, and not as the result's `dynamic_partitions_requests`: the daemon applies those only after the
tick has returned, so marking the requests done in the tick lost the change for good when the daemon
died in between, and it removed the keys one at a time outside any bound of the tick. Here a request is
marked done only after Dagster has applied it, within `LEAP_LAUNCHER_PARTITION_BUDGET_S` (ADR 0041).
"""


from datetime import timedelta

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

from leap_core import launcher, partition_changes
from leap_core.audit import Actor
from leap_core.config import default_quotas
from leap_core.operations import request_due_parked
from leap_dagster.jobs import CHECKS_AFTER, CHECKS_TAG, assets_from, recording_pipeline
from leap_dagster.partitions import RECORDINGS, recordings
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


def _change_partitions(context: SensorEvaluationContext, leap: LeapResource) -> tuple[int, bool]:
    """Apply the oldest pending partition changes within the tick's budget, then mark them done.

    Returns how many were applied and whether any are left. Marked only after Dagster has applied them:
    a kill in between repeats idempotent changes next tick (partition_changes's docstring).
    """
    core = leap.get()
    with core.db.session() as session:
        changes = partition_changes.pending(session)
    applied = partition_changes.apply(
        changes, add=lambda keys: context.instance.add_dynamic_partitions(RECORDINGS, keys),
        remove=lambda key: context.instance.delete_dynamic_partition(RECORDINGS, key),
        budget_s=core.settings.launcher_partition_budget_s)
    with core.db.session() as session:
        partition_changes.mark_applied(session, applied)
    if applied:
        context.log.info("applied %d partition change(s) of %d read", len(applied), len(changes))
    return len(applied), len(applied) < len(changes) or len(changes) == partition_changes.PARTITION_CHANGES_PER_TICK


@sensor(job=recording_pipeline, minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING,
        description="The single launcher: turns LEAP run requests into runs, within each user's concurrency.")
def launcher_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SensorResult | SkipReason:
    _observe_runs(context, leap)
    core = leap.get()
    with core.db.session() as session:
        request_due_parked(session, PARKED_ACTOR, core.settings.parked_max_attempts)
    # Before claiming: a tick that dies changing partitions has claimed nothing that would wait to be resent.
    changed, more = _change_partitions(context, leap)
    with core.db.session() as session:
        resend = launcher.unconfirmed(session, timedelta(seconds=core.settings.launch_confirm_seconds))
        waiting = launcher.next_batch(session, default_quotas(), core.settings.launcher_batch_size)
        batch = launcher.claim(session, waiting)
    items = batch + resend
    if not items:
        report = f"no run requests are waiting; {changed} partition change(s) applied"
        return SkipReason(report + ("; more left for the next tick" if more else ""))
    return SensorResult(run_requests=[_run_request(i) for i in items],
                        dynamic_partitions_requests=[recordings.build_add_request(
                            sorted({i.partition_key for i in items}))])
