"""Runs started in Dagster itself (UI materialise, backfill) pass LEAP's admission before any work.

The launcher tags its runs `leap/request`; a run without the tag is admitted here by its first step
(`leap_core.admission`): tagged with its owner and task when admitted, failed with the reason and
queued for the launcher when the owner is at `max_concurrent_tasks`.
"""

from __future__ import annotations

from dagster import AssetExecutionContext, Failure

from leap_core.admission import admit_run
from leap_core.config import default_quotas
from leap_dagster.jobs import PIPELINE_ORDER, STAGE_ASSETS, TARGET_ASSETS
from leap_dagster.resources import LeapResource

STAGE_OF_ASSET = {asset: stage for stage, asset in STAGE_ASSETS.items()} | {
    asset: f"upload:{platform}" for platform, asset in TARGET_ASSETS.items()}


def first_stage(context: AssetExecutionContext) -> str:
    """The earliest stage the run selected: where the queued request starts if the run is not admitted."""
    selected = {key.to_user_string() for key in context.run.asset_selection or ()}
    return next((STAGE_OF_ASSET[name] for name in PIPELINE_ORDER if name in selected), "download")


def admit_outside_launcher(context: AssetExecutionContext, leap: LeapResource, recording_id: str) -> None:
    """No-op for the launcher's runs; otherwise count the run against its owner or refuse it (Failure)."""
    if "leap/request" in context.run.tags:
        return
    core = leap.get()
    with core.db.session() as session:
        admission = admit_run(session, context.run_id, recording_id, first_stage(context), default_quotas())
    if not admission.admitted:
        raise Failure(description=admission.message, allow_retries=False,
                      metadata={"leap/user": admission.user_id, "leap/task": admission.request_id})
    context.instance.add_run_tags(context.run_id, {
        "leap/user": admission.user_id, "leap/recording": recording_id, "leap/request": str(admission.request_id),
        "leap/reason": "dagster"})
