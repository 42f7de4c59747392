"""LEAP's state on the asset partitions: what the Dagster UI cannot know by itself.

Dagster shows a partition as materialised, failed or missing. A recording LEAP skipped as blank then
looks exactly like one still waiting, and a failure at download turns every later asset "Failed" with
no word of why. So each stage attaches the recording's story (leap_core.story) to what it reports:

- a materialisation carries it as metadata (state, the published URLs, a Markdown card);
- a stage that skips or fails records an *observation* on its own asset and on every later one of
  the partition, so each asset's partition page says "SKIPPED: blank recording (…)" or
  "not run: FAILED at download: 'Lecture 3.mp4': file is truncated" instead of nothing.

Observations change no partition status (they are not materialisations), so a skipped recording's
assets stay missing to Dagster's automation and can still be materialised later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetObservation, MetadataValue

from leap_core.states import RecordingStatus
from leap_core.story import Story
from leap_dagster.jobs import PIPELINE_ORDER, TARGET_ASSETS


def story_metadata(story: Story) -> dict[str, Any]:
    """The story under `leap/…` keys, typed for the UI: the card as Markdown, published links as URLs."""
    typed: dict[str, Any] = {}
    for key, value in story.metadata().items():
        if key.endswith("_md"):
            typed[key.removesuffix("_md")] = MetadataValue.md(str(value))
        elif key.startswith("leap/url/"):
            typed[key] = MetadataValue.url(str(value))
        else:
            typed[key] = value
    return typed


def this_and_later(asset: AssetKey) -> list[AssetKey]:
    """The asset and every asset after it in the pipeline; a target's later assets are none."""
    name = asset.to_user_string()
    if name in TARGET_ASSETS.values():
        return [asset]
    return [AssetKey(n) for n in PIPELINE_ORDER[PIPELINE_ORDER.index(name):]]


STOPPED = (RecordingStatus.FAILED, RecordingStatus.SKIPPED)


def observe_stop(context: AssetExecutionContext, story: Story, message: str | None = None,
                 own_metadata: Mapping[str, Any] | None = None) -> None:
    """The stage stopped the recording (skip or failure): say so on this asset and on the ones it stops.

    `own_metadata` (the stage's own, e.g. the trim's track choice) goes on this asset's observation only.
    A failed *reprocess* leaves the recording where it rested (ADR 0011), so only its own asset hears of it.
    """
    metadata = story_metadata(story)
    own = context.asset_key
    stopped = story.state in STOPPED
    for key in this_and_later(own) if stopped else [own]:
        headline = story.headline if stopped else f"{message or 'failed'} (the recording stays {story.state})"
        description = headline if key == own else f"not run: {headline}"
        extra = dict(own_metadata or {}) if key == own else {}
        context.log_event(AssetObservation(asset_key=key, partition=context.partition_key,
                                           description=description, metadata={**extra, **metadata}))


def observe_not_requested(context: AssetExecutionContext, story: Story) -> None:
    """A target the recording's template does not ask for: not waiting, just not wanted."""
    context.log_event(AssetObservation(
        asset_key=context.asset_key, partition=context.partition_key,
        description="not a target of this recording's template", metadata=story_metadata(story)))
