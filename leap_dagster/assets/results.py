"""Turning core outcomes into Dagster results, and core errors into clean step failures."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue

from leap_core.errors import LeapError
from leap_core.logs import log_context
from leap_core.pipeline.runner import StageOutcome
from leap_core.publishing.targets import TargetOutcome
from leap_dagster.admission import admit_outside_launcher
from leap_dagster.resources import LeapResource

OWNERS = ["team:leap"]
log = logging.getLogger(__name__)
T = TypeVar("T", StageOutcome, TargetOutcome)


def _metadata_value(key: str, value: Any) -> Any:
    if key.endswith("_md"):
        return MetadataValue.md(str(value))
    if key == "path" or key in ("srt", "vtt"):
        return MetadataValue.path(str(value))
    if key == "url" and value:
        return MetadataValue.url(str(value))
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return MetadataValue.json(value)


def as_metadata(data: dict[str, Any]) -> dict[str, Any]:
    return {key: _metadata_value(key, value) for key, value in data.items() if value is not None}


def run_stage(
    context: AssetExecutionContext, leap: LeapResource, call: Callable[[str, str], T]
) -> T:
    """Resolve the partition to a recording and run the core call; a LeapError fails the step cleanly.

    A run the launcher did not start is first admitted against the recording's owner (leap_dagster.admission).
    Every LEAP log line the call writes carries the run, asset and recording ids (leap_core.logs.log_context).
    """
    asset = context.asset_key.to_user_string()
    with log_context(run_id=context.run_id, asset=asset):
        try:
            recording_id = leap.pipeline().recording_id_for(context.partition_key)
            with log_context(recording_id=recording_id):
                log.info("%s: started for partition %s", asset, context.partition_key)
                admit_outside_launcher(context, leap, recording_id)
                outcome = call(recording_id, context.run_id)
                log.info("%s: %s in %.2f s", asset, outcome.status, outcome.elapsed_s)
                return outcome
        except LeapError as exc:
            log.warning("%s: failed: %s", asset, exc)
            raise Failure(description=str(exc), metadata={"error": str(exc)}, allow_retries=False) from None


def stage_results(outcome: StageOutcome) -> Iterator[MaterializeResult]:
    """A skipped recording materialises nothing, so the assets downstream of it are skipped too."""
    if outcome.status == "skipped":
        return
    yield MaterializeResult(metadata=as_metadata({**outcome.metadata, "elapsed_s": round(outcome.elapsed_s, 3)}))


def target_results(outcome: TargetOutcome) -> Iterator[MaterializeResult]:
    if outcome.status in ("skipped", "not_requested"):
        return
    yield MaterializeResult(metadata=as_metadata({
        **outcome.metadata, "status": outcome.status, "video_id": outcome.video_id, "url": outcome.url,
        "elapsed_s": round(outcome.elapsed_s, 3),
    }))
