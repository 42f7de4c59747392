"""Daily notification work: the credential health check at 05:00 UTC, before the morning's automation
jobs, and the summary at 07:00 in LEAP_SUMMARY_TIMEZONE.

Users who chose daily summaries get one every day, weekly ones on Mondays; the scheduled time is passed
as a tag, so a re-executed run writes the same summaries (same keys) and sends nothing twice.
"""

from datetime import UTC, datetime

from dagster import OpExecutionContext, RunRequest, ScheduleEvaluationContext, job, op, schedule

from leap_core.config import get_settings
from leap_core.notifications.health import check_credentials
from leap_core.notifications.summaries import send_summaries
from leap_dagster.resources import LeapResource

SCHEDULED_AT_TAG = "leap/summary_at"


@op(description="Store and queue each user's due summary.")
def notification_summaries_op(context: OpExecutionContext, leap: LeapResource) -> int:
    now = datetime.fromisoformat(context.run.tags[SCHEDULED_AT_TAG])
    sent = send_summaries(leap.get().db, now)
    context.log.info("queued %d summaries for %s", sent, now.isoformat())
    return sent


@job(description="Daily and weekly notification summaries.")
def notification_summaries() -> None:
    notification_summaries_op()


@schedule(job=notification_summaries, cron_schedule="0 7 * * *", execution_timezone=get_settings().summary_timezone,
          description="Each user's daily (or, on Mondays, weekly) notification summary.")
def notification_summary_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    at = context.scheduled_execution_time.isoformat()
    return RunRequest(run_key=f"summary-{at}", tags={SCHEDULED_AT_TAG: at})


@op(description="Check every stored YouTube and VK credential once; tell the owners of those that fail.")
def credential_health_op(context: OpExecutionContext, leap: LeapResource) -> int:
    core = leap.get()
    results = check_credentials(core.db, core.settings, datetime.now(UTC))
    unhealthy = sum(1 for r in results if r.problem)
    unchecked = sum(1 for r in results if r.unchecked)
    context.log.info("checked %d credential(s): %d need attention, %d could not be checked",
                     len(results), unhealthy, unchecked)
    return unhealthy


@job(description="The daily credential health check.")
def credential_health() -> None:
    credential_health_op()


@schedule(job=credential_health, cron_schedule="0 5 * * *", execution_timezone="UTC",
          description="Check stored platform grants before the day's scheduled uploads.")
def credential_health_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=f"credential-health-{context.scheduled_execution_time.isoformat()}")
