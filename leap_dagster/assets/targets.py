"""Output targets: one asset per platform; a target the template does not ask for is skipped."""


from collections.abc import Callable, Iterator

from dagster import AssetExecutionContext, MaterializeResult, asset

from leap_core import pools
from leap_core.publishing.targets import TargetOutcome
from leap_dagster.assets.results import OWNERS, run_stage, target_results
from leap_dagster.assets.speech import subtitles
from leap_dagster.partitions import recordings
from leap_dagster.resources import LeapResource


@asset(
    partitions_def=recordings, group_name="recordings", kinds={"folder"}, owners=OWNERS, pool=pools.UPLOAD,
    deps=[subtitles], output_required=False,
    description="The local export: video, subtitles, transcript, topics and metadata.json in the export folder.",
)
def exported_video(context: AssetExecutionContext, leap: LeapResource) -> Iterator[MaterializeResult]:
    yield from target_results(context, leap, run_stage(context, leap, leap.pipeline().export_local))


def publish_to(leap: LeapResource, platform: str) -> Callable[[str, str], TargetOutcome]:
    pipeline = leap.pipeline()
    return lambda recording_id, run_id: pipeline.publish(recording_id, platform, run_id)


@asset(
    partitions_def=recordings, group_name="recordings", kinds={"youtube"}, owners=OWNERS, pool=pools.UPLOAD,
    deps=[subtitles], output_required=False,
    description="The video on YouTube, with chapters, captions and playlist as the template's youtube preset says.",
)
def youtube_video(context: AssetExecutionContext, leap: LeapResource) -> Iterator[MaterializeResult]:
    yield from target_results(context, leap, run_stage(context, leap, publish_to(leap, "youtube")))


@asset(
    partitions_def=recordings, group_name="recordings", kinds={"vk"}, owners=OWNERS, pool=pools.UPLOAD,
    deps=[subtitles], output_required=False,
    description="The video on VK, with chapters in its description, as the template's vk preset says.",
)
def vk_video(context: AssetExecutionContext, leap: LeapResource) -> Iterator[MaterializeResult]:
    yield from target_results(context, leap, run_stage(context, leap, publish_to(leap, "vk")))
