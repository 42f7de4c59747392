"""Sensors: source sync, the single launcher, and the run-failure catcher."""

from leap_dagster.sensors.failures import recording_failure_sensor
from leap_dagster.sensors.launcher import launcher_sensor
from leap_dagster.sensors.sync import source_sync_sensor

__all__ = ["launcher_sensor", "recording_failure_sensor", "source_sync_sensor"]
