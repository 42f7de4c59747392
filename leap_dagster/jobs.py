"""The one job every recording run is a subset of, and which assets a stage's run selects."""

from __future__ import annotations

from dagster import AssetKey, AssetSelection, ExecutorDefinition, define_asset_job, in_process_executor

from leap_core.config import Settings, get_settings
from leap_dagster.partitions import recordings

STAGE_ASSETS: dict[str, str] = {
    "download": "raw_video",
    "trim": "trimmed_video",
    "transcribe": "transcript",
    "topics": "topics",
    "subtitles": "subtitles",
}
TARGET_ASSETS: dict[str, str] = {"local": "exported_video", "youtube": "youtube_video", "vk": "vk_video"}
PIPELINE_ORDER = [*STAGE_ASSETS.values(), *TARGET_ASSETS.values()]


def pipeline_executor(settings: Settings) -> ExecutorDefinition:
    """In-process by default; LEAP_EXECUTOR=celery sends the launcher's runs and the automation runs
    (leap_dagster/automation_run.py) through Celery queues by pool.

    In-process suits one machine: the chain is linear and each stage's heavy work (ffmpeg, Whisper) is
    its own process or threads, so per-step processes would only add ~1.3 s each (ADR 0002).
    The choice is made when the code location loads, from the validated Settings (ADR 0028).
    """
    if settings.executor == "celery":
        from leap_dagster.celery import pool_queue_celery_executor

        return pool_queue_celery_executor
    return in_process_executor


recording_pipeline = define_asset_job(
    "recording_pipeline",
    selection=AssetSelection.groups("recordings"),
    partitions_def=recordings,
    executor_def=pipeline_executor(get_settings()),
)


CHECKS_TAG, CHECKS_AFTER = "leap/checks", "after"
"""On the launcher's runs, which plan no asset check: the check sensor runs them after the run (ADR 0032)."""
CHECKS_OF_TAG = "leap/checks_of"
"""On a run of only asset checks (no assets), started by the check sensor after the named run ended (ADR 0032)."""


def assets_from(stage: str) -> list[AssetKey]:
    """The stage's asset and everything after it; an upload stage selects every target asset.

    Targets already UPLOADED are reused without an upload, and those the template does not ask for
    materialise nothing, so one run settles every failed target of the recording.
    """
    if stage.startswith("upload:"):
        return [AssetKey(name) for name in TARGET_ASSETS.values()]
    start = PIPELINE_ORDER.index(STAGE_ASSETS[stage])
    return [AssetKey(name) for name in PIPELINE_ORDER[start:]]
