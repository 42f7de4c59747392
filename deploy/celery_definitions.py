"""LEAP's definitions plus `recording_pipeline_celery`: the same assets, each step a Celery task.

Loaded by the code server in the distributed profile (LEAP_DEFINITIONS_FILE=deploy/celery_definitions.py)
and by every Celery worker, which rebuilds the job from this file to run a step. A step goes to the
queue named after its asset's pool (media, transcription, upload, download), so one worker per queue
— deploy/compose.yaml — gives each kind of work its own machines and concurrency.
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from leap_dagster.celery import pool_queue_celery_executor
from leap_dagster import definitions as local  # a module, not its Definitions: one Definitions at module scope
from leap_dagster.partitions import recordings

recording_pipeline_celery = define_asset_job(
    "recording_pipeline_celery",
    selection=AssetSelection.groups("recordings"),
    partitions_def=recordings,
    executor_def=pool_queue_celery_executor,
    description="The recording pipeline with one Celery task per step, queued by pool.",
)

defs = Definitions.merge(local.defs, Definitions(jobs=[recording_pipeline_celery]))
