"""`defs`: everything Dagster loads for LEAP, listed by hand so it is easy to search."""

from dagster import Definitions, in_process_executor

from leap_dagster.assets import ALL_ASSETS
from leap_dagster.jobs import recording_pipeline
from leap_dagster.resources import LeapResource
from leap_dagster.sensors import launcher_sensor, recording_failure_sensor, source_sync_sensor

defs = Definitions(
    assets=ALL_ASSETS,
    jobs=[recording_pipeline],
    sensors=[source_sync_sensor, launcher_sensor, recording_failure_sensor],
    resources={"leap": LeapResource()},
    executor=in_process_executor,
)
