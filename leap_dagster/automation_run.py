"""`automation_run`: the small job every automation schedule's tick runs (ADR 0030).

One op in the `automation` pool calls the core's `run_job`, which syncs the job's sources, matches its
template's INITIALIZED recordings and writes run requests; the launcher sensor still starts every
recording run. The op's output metadata is what the run page shows: found, matched, requested, or why
it skipped; a run whose sources failed to sync fails, so a broken source is red in the UI too.
Its executor is the recording pipeline's (`pipeline_executor`): under LEAP_EXECUTOR=celery the op is a
Celery task on the `automation` queue, which deploy/compose.yaml's `celery-automation` worker serves.
"""

from datetime import UTC, datetime

from dagster import Config, Failure, MetadataValue, OpExecutionContext, Output, job, op

from leap_core import automation
from leap_core.config import get_settings
from leap_dagster.jobs import pipeline_executor
from leap_dagster.partitions import recordings
from leap_dagster.resources import LeapResource

AUTOMATION_POOL = "automation"
RUN_ACTOR = automation.SCHEDULE_ACTOR


class AutomationRunConfig(Config):
    """Which LEAP job to run, and the tick it belongs to (ISO; empty = now, for a launch by hand)."""

    job_id: str
    scheduled_at: str = ""


def summary_metadata(summary: automation.RunSummary) -> dict[str, MetadataValue]:
    """The run page's record of one automation run: the counts, the reason and the recordings asked for."""
    lines = [f"- `{rid}`" for rid in summary.recording_ids[:50]]
    more = len(summary.recording_ids) - len(lines)
    return {
        "status": MetadataValue.text(summary.status),
        "found": MetadataValue.int(summary.found),
        "matched": MetadataValue.int(summary.matched),
        "requested": MetadataValue.int(summary.launched),
        "skipped_by_quota": MetadataValue.int(summary.skipped_by_quota),
        "reason": MetadataValue.text(summary.reason or ""),
        "automation_run_id": MetadataValue.int(summary.run_id or 0),
        "requested_recordings": MetadataValue.md("\n".join(lines) + (f"\n- … and {more} more" if more > 0 else "")
                                                 or "none"),
    }


def _moment(scheduled_at: str) -> datetime:
    return datetime.fromisoformat(scheduled_at).astimezone(UTC) if scheduled_at else datetime.now(UTC)


@op(pool=AUTOMATION_POOL, description="Sync the job's sources, match its recordings and ask the launcher for runs.")
def run_automation_job(context: OpExecutionContext, config: AutomationRunConfig,
                       leap: LeapResource) -> Output[dict]:
    core = leap.get()
    summary = automation.run_job(core.db, RUN_ACTOR, core.settings, config.job_id, "schedule",
                                 _moment(config.scheduled_at), dagster_run_id=context.run_id)
    if summary.new_partition_keys:  # the launcher would add them too; here they show up at once
        context.instance.add_dynamic_partitions(str(recordings.name), summary.new_partition_keys)
    metadata = summary_metadata(summary)
    line = (f"{summary.job_name}: {summary.status}, found {summary.found}, matched {summary.matched}, "
            f"requested {summary.launched}" + (f" ({summary.reason})" if summary.reason else ""))
    context.log.info(line)
    if summary.failed:
        raise Failure(description=line, metadata=metadata)
    return Output(summary.as_dict(), metadata=metadata)


@job(name="automation_run", tags={"leap/kind": "automation"}, executor_def=pipeline_executor(get_settings()),
     description="One tick of a LEAP automation job (every automation schedule targets this job).")
def automation_run() -> None:
    run_automation_job()
