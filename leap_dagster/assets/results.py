"""Turning core outcomes into Dagster results, and core errors into clean step failures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from dagster import AssetExecutionContext, AssetObservation, Failure, MaterializeResult, MetadataValue

from leap_core.errors import LeapError
from leap_core.pipeline.runner import StageOutcome
from leap_core.publishing.targets import TargetOutcome
from leap_dagster.admission import admit_outside_launcher
from leap_dagster.resources import LeapResource

OWNERS = ["team:leap"]
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
    """
    try:
        recording_id = leap.pipeline().recording_id_for(context.partition_key)
        admit_outside_launcher(context, leap, recording_id)
        return call(recording_id, context.run_id)
    except LeapError as exc:
        raise Failure(description=str(exc), metadata={"error": str(exc)}, allow_retries=False) from None


def stage_results(outcome: StageOutcome, context: AssetExecutionContext | None = None) -> Iterator[MaterializeResult]:
    """A skipped recording materialises nothing, so the assets downstream of it are skipped too; the skip is
    logged and observed (its metadata, the reason with it, on the asset's page) so the UI says why."""
    if outcome.status == "skipped":
        if context is not None and outcome.metadata:
            reason = outcome.metadata.get("method_reason") or outcome.metadata.get("reason") or "skipped"
            context.log.warning(f"{outcome.stage}: recording {outcome.recording_id} skipped: {reason}")
            context.log_event(AssetObservation(asset_key=context.asset_key, partition=context.partition_key,
                                               metadata=as_metadata({**outcome.metadata, "skipped": True})))
        return
    yield MaterializeResult(metadata=as_metadata({**outcome.metadata, "elapsed_s": round(outcome.elapsed_s, 3)}))


def target_results(outcome: TargetOutcome) -> Iterator[MaterializeResult]:
    if outcome.status in ("skipped", "not_requested"):
        return
    yield MaterializeResult(metadata=as_metadata({
        **outcome.metadata, "status": outcome.status, "video_id": outcome.video_id, "url": outcome.url,
        "elapsed_s": round(outcome.elapsed_s, 3),
    }))
