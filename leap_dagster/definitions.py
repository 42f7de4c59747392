"""`defs`: everything Dagster loads for LEAP, listed by hand so it is easy to search.

The automation schedules are the one part read from the database: one per enabled job, built at each
load (`build_definitions`), see leap_dagster/schedules.py and ADR 0030. A run worker, which loads this
module only to execute one run or step, skips them (`definitions_for_this_process`, ADR 0030 2026-12-03).
"""

from dagster import Definitions, in_process_executor

from leap_dagster import process_logs
from leap_dagster.assets import ALL_ASSETS
from leap_dagster.automation_run import automation_run
from leap_dagster.checks import ALL_CHECKS
from leap_dagster.jobs import recording_pipeline
from leap_dagster.pools import pool_limits_sensor
from leap_dagster.resources import LeapResource
from leap_dagster.schedules import load_automation_schedules, loading_for_a_run
from leap_dagster.schedules_notifications import credential_health_schedule, notification_summary_schedule
from leap_dagster.sensors import launcher_sensor, recording_failure_sensor, source_sync_sensor
from leap_dagster.sensors.automation_reload import automation_reload_sensor
from leap_dagster.sensors.cancel import cancel_sensor
from leap_dagster.sensors.checks import check_sensor
from leap_dagster.sensors.cleanup import disk_cleanup_sensor
from leap_dagster.sensors.outbox import notification_outbox_sensor
from leap_dagster.sensors.recovery import run_recovery_sensor
from leap_dagster.sensors.retention import retention_sensor

process_logs.configure()  # every process that loads LEAP's definitions logs the same way (JSON or text, redacted)


def build_definitions(automation_schedules: bool = True) -> Definitions:
    """LEAP's definitions with one schedule per enabled automation job, as the database has them now
    (none with `automation_schedules=False`: the jobs, assets and sensors do not depend on them)."""
    return Definitions(
        assets=ALL_ASSETS,
        asset_checks=ALL_CHECKS,
        jobs=[recording_pipeline, automation_run],
        sensors=[source_sync_sensor, launcher_sensor, recording_failure_sensor, cancel_sensor, run_recovery_sensor,
                 notification_outbox_sensor, retention_sensor, disk_cleanup_sensor,
                 automation_reload_sensor, pool_limits_sensor, check_sensor],
        schedules=[notification_summary_schedule, credential_health_schedule,
                   *(load_automation_schedules() if automation_schedules else [])],
        resources={"leap": LeapResource()},
        executor=in_process_executor,
    )


def definitions_for_this_process() -> Definitions:
    """What this module's import builds: everything in the code server (and `dagster dev`, tests, the CLI),
    no automation schedules when Dagster imports it to execute a run or step, where nothing reads them
    and 1,000 of them cost seconds of every run's start."""
    return build_definitions(automation_schedules=not loading_for_a_run())


defs = definitions_for_this_process()
