"""raw_video (download) and trimmed_video (silence trimmed)."""


import threading
from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from leap_dagster.assets.results import OWNERS, run_stage, stage_results
from leap_dagster.partitions import recordings
from leap_dagster.resources import LeapResource


def warm_transcriber_beside(context: AssetExecutionContext, leap: LeapResource) -> None:
    """When this process will also run the run's `transcript` step (in-process executor), load Whisper in a
    background thread now: the model then loads beside download and trim instead of inside the one
    `transcription` pool slot, which every recording's transcription queues for (bench/orchestration.py).
    Called by both media stages, since a run may start at either; the second call finds the model loaded."""
    selection = context.run.asset_selection or frozenset()
    if AssetKey("transcript") in selection and context.job_def.executor_def.name == "in_process":
        threading.Thread(target=leap.pipeline().warm_transcriber, name="leap-warm-transcriber", daemon=True).start()


@asset(
    partitions_def=recordings, group_name="recordings", kinds={"video"}, owners=OWNERS, pool="download",
    description="The recording as the source delivered it: storage/<user>/<recording>/source.<ext>.",
    output_required=False,
)
def raw_video(context: AssetExecutionContext, leap: LeapResource) -> Iterator[MaterializeResult]:
    warm_transcriber_beside(context, leap)
    yield from stage_results(run_stage(context, leap, leap.pipeline().download))


@asset(
    partitions_def=recordings, group_name="recordings", kinds={"ffmpeg", "video"}, owners=OWNERS, pool="media",
    deps=[raw_video], output_required=False,
    description="The recording with its silent head and tail (and, per template, long pauses) cut out.",
)
def trimmed_video(context: AssetExecutionContext, leap: LeapResource) -> Iterator[MaterializeResult]:
    warm_transcriber_beside(context, leap)
    yield from stage_results(run_stage(context, leap, leap.pipeline().trim), context)
