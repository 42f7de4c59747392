"""`defs`: everything Dagster loads for LEAP, listed by hand so it is easy to search."""

from dagster import Definitions, in_process_executor

from leap_dagster.assets import ALL_ASSETS
from leap_dagster.checks import ALL_CHECKS
from leap_dagster.jobs import recording_pipeline
from leap_dagster.resources import LeapResource
from leap_dagster.schedules import automation_sensor
from leap_dagster.schedules_notifications import credential_health_schedule, notification_summary_schedule
from leap_dagster.sensors import launcher_sensor, recording_failure_sensor, source_sync_sensor
from leap_dagster.sensors.cancel import cancel_sensor
from leap_dagster.sensors.checks import check_sensor
from leap_dagster.sensors.outbox import notification_outbox_sensor
from leap_dagster.sensors.recovery import run_recovery_sensor
from leap_dagster.sensors.retention import retention_sensor

defs = Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=[recording_pipeline],
    sensors=[source_sync_sensor, launcher_sensor, recording_failure_sensor, cancel_sensor, run_recovery_sensor,
             notification_outbox_sensor, retention_sensor,
             automation_sensor, check_sensor],
    schedules=[notification_summary_schedule, credential_health_schedule],
    resources={"leap": LeapResource()},
    executor=in_process_executor,
)
