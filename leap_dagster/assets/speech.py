"""transcript, topics (chapters) and subtitles (SRT and VTT)."""


from collections.abc import Iterator

from dagster import AssetExecutionContext, MaterializeResult, asset

from leap_core import pools
from leap_dagster.assets.media import trimmed_video
from leap_dagster.assets.results import OWNERS, run_stage, stage_results
from leap_dagster.partitions import recordings
from leap_dagster.resources import LeapResource


@asset(
    partitions_def=recordings, group_name="recordings", kinds={"whisper"}, owners=OWNERS, pool=pools.TRANSCRIPTION,
    deps=[trimmed_video], output_required=False,
    description="What was said, with timings: transcript.json (segments, words, language).",
)
def transcript(context: AssetExecutionContext, leap: LeapResource) -> Iterator[MaterializeResult]:
    yield from stage_results(context, leap, run_stage(context, leap, leap.pipeline().transcribe))


@asset(
    partitions_def=recordings, group_name="recordings", kinds={"python"}, owners=OWNERS,
    deps=[transcript], output_required=False,
    description="Summary, keywords and chapters (start, title) derived from the transcript: topics.json.",
)
def topics(context: AssetExecutionContext, leap: LeapResource) -> Iterator[MaterializeResult]:
    yield from stage_results(context, leap, run_stage(context, leap, leap.pipeline().topics))


@asset(
    partitions_def=recordings, group_name="recordings", kinds={"python"}, owners=OWNERS,
    deps=[topics], output_required=False,
    description="Readable captions from the transcript: subtitles.srt and subtitles.vtt.",
)
def subtitles(context: AssetExecutionContext, leap: LeapResource) -> Iterator[MaterializeResult]:
    yield from stage_results(context, leap, run_stage(context, leap, leap.pipeline().subtitles))
