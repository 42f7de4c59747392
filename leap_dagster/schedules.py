"""`automation_sensor`: the single evaluator of every user's automation jobs (see docs/adr/0007).

Jobs are rows users create at any time, so they are read from the database on each tick rather than
turned into Dagster schedules at load time: a new, changed or disabled job takes effect within one tick,
without reloading the code location. Each tick's log and skip reason name the jobs it ran and what they
did, so the sensor's tick history in the UI is the jobs' history too (the user's own is `automation_runs`).
The core writes run requests; the launcher sensor starts the runs.
"""

from datetime import UTC, datetime

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, sensor

from leap_core import automation
from leap_dagster.partitions import recordings
from leap_dagster.resources import LeapResource


def _line(summary: automation.RunSummary) -> str:
    if summary.status == "skipped":
        return f"{summary.job_name}: skipped ({summary.reason})"
    errors = f", source errors: {'; '.join(summary.source_errors)}" if summary.source_errors else ""
    return (f"{summary.job_name}: {summary.status}, found {summary.found}, matched {summary.matched}, "
            f"requested {summary.launched}{errors}")


@sensor(minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Runs every user's due automation jobs in their own timezone; the launcher starts the work.")
def automation_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SensorResult:
    core = leap.get()
    summaries = automation.run_due(core.db, core.settings, datetime.now(UTC))
    for summary in summaries:
        context.log.info(_line(summary))
    new_keys = [key for s in summaries for key in s.new_partition_keys]
    report = "; ".join(_line(s) for s in summaries) or "no automation job is due"
    if not new_keys:
        return SensorResult(skip_reason=report)
    return SensorResult(dynamic_partitions_requests=[recordings.build_add_request(new_keys)])
