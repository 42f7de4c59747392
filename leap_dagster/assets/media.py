"""raw_video (download) and trimmed_video (silence trimmed)."""


from collections.abc import Iterator

from dagster import AssetExecutionContext, MaterializeResult, asset

from leap_dagster.assets.results import OWNERS, run_stage, stage_results
from leap_dagster.partitions import recordings
from leap_dagster.resources import LeapResource


@asset(
    partitions_def=recordings, group_name="recordings", kinds={"video"}, owners=OWNERS, pool="download",
    description="The recording as the source delivered it: storage/<user>/<recording>/source.<ext>.",
    output_required=False,
)
def raw_video(context: AssetExecutionContext, leap: LeapResource) -> Iterator[MaterializeResult]:
    yield from stage_results(run_stage(context, leap, leap.pipeline().download))


@asset(
    partitions_def=recordings, group_name="recordings", kinds={"ffmpeg", "video"}, owners=OWNERS, pool="media",
    deps=[raw_video], output_required=False,
    description="The recording with its silent head and tail (and, per template, long pauses) cut out.",
)
def trimmed_video(context: AssetExecutionContext, leap: LeapResource) -> Iterator[MaterializeResult]:
    yield from stage_results(run_stage(context, leap, leap.pipeline().trim))
