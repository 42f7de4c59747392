"""Turning core outcomes into Dagster results, and core errors into clean step failures.

Every result also carries LEAP's own story of the recording (leap_dagster.story): its state, why it
stopped, the user's file name and the published URLs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from dagster import AssetExecutionContext, AssetObservation, Failure, MaterializeResult, MetadataValue

from leap_core.errors import LeapError
from leap_core.logs import log_context
from leap_core.pipeline.runner import StageOutcome
from leap_core.publishing.targets import TargetOutcome
from leap_core.story import Story, in_users_words
from leap_dagster.admission import admit_outside_launcher
from leap_dagster.resources import LeapResource
from leap_dagster.story import observe_not_requested, observe_stop, story_metadata

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


def _story(leap: LeapResource, recording_id: str | None) -> Story | None:
    """The story if it can be told; telling it never turns a stage's own result into a failure."""
    if recording_id is None:
        return None
    try:
        return leap.pipeline().story(recording_id)
    except LeapError:
        return None


def run_stage(
    context: AssetExecutionContext, leap: LeapResource, call: Callable[[str, str], T]
) -> T:
    """Resolve the partition to a recording and run the core call; a LeapError fails the step cleanly.

    A run the launcher did not start is first admitted against the recording's owner (leap_dagster.admission).
    Every LEAP log line the call writes carries the run, asset and recording ids (leap_core.logs.log_context);
    a failure is first recorded on this asset and the later ones, in the user's words (leap_dagster.story).
    """
    asset = context.asset_key.to_user_string()
    recording_id: str | None = None
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
            story = _story(leap, recording_id)
            message = in_users_words(str(exc), story.source_name) if story else str(exc)
            if story is not None:
                observe_stop(context, story, message)
            metadata = {"error": message, **(story_metadata(story) if story else {})}
            raise Failure(description=message, metadata=metadata, allow_retries=False) from None
        except Exception:
            story = _story(leap, recording_id)
            if story is not None:
                observe_stop(context, story)
            raise


def stage_results(
    context: AssetExecutionContext, leap: LeapResource, outcome: StageOutcome
) -> Iterator[MaterializeResult]:
    """A skipped recording materialises nothing, so the assets downstream of it are skipped too; the skip is
    logged, its stage's metadata (the reason with it) observed on the asset, and the story observation says
    why on each later one."""
    story = _story(leap, outcome.recording_id)
    if outcome.status == "skipped":
        reason = outcome.metadata.get("method_reason") or outcome.metadata.get("reason") or "skipped"
        context.log.warning(f"{outcome.stage}: recording {outcome.recording_id} skipped: {reason}")
        own = as_metadata({**outcome.metadata, "skipped": True})
        if story is not None:
            observe_stop(context, story, own_metadata=own)
        else:
            context.log_event(AssetObservation(asset_key=context.asset_key, partition=context.partition_key,
                                               metadata=own))
        return
    yield MaterializeResult(metadata={
        **as_metadata({**outcome.metadata, "elapsed_s": round(outcome.elapsed_s, 3)}),
        **(story_metadata(story) if story else {}),
    })


def target_results(
    context: AssetExecutionContext, leap: LeapResource, outcome: TargetOutcome
) -> Iterator[MaterializeResult]:
    recording_id = leap.pipeline().recording_id_for(context.partition_key)
    story = _story(leap, recording_id)
    if outcome.status in ("skipped", "not_requested", "held"):
        if outcome.status == "held":
            context.log.info(f"{outcome.platform}: held for review: {outcome.metadata['held']}")
        if story is not None:
            (observe_not_requested if outcome.status == "not_requested" else observe_stop)(context, story)
        return
    yield MaterializeResult(metadata={
        **as_metadata({**outcome.metadata, "status": outcome.status, "video_id": outcome.video_id,
                       "url": outcome.url, "elapsed_s": round(outcome.elapsed_s, 3)}),
        **(story_metadata(story) if story else {}),
    })
