"""Output targets: one asset per platform; a target the template does not ask for is skipped."""


from collections.abc import Iterator

from dagster import AssetExecutionContext, MaterializeResult, asset

from leap_dagster.assets.results import OWNERS, run_stage, target_results
from leap_dagster.assets.speech import subtitles
from leap_dagster.partitions import recordings
from leap_dagster.resources import LeapResource


@asset(
    partitions_def=recordings, group_name="recordings", kinds={"folder"}, owners=OWNERS, pool="upload",
    deps=[subtitles], output_required=False,
    description="The local export: video, subtitles, transcript, topics and metadata.json in the export folder.",
)
def exported_video(context: AssetExecutionContext, leap: LeapResource) -> Iterator[MaterializeResult]:
    yield from target_results(run_stage(context, leap, leap.pipeline().export_local))
