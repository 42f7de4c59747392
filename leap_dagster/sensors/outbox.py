"""Drains the notification outbox every 30 seconds: email and webhook deliveries go out here, never in a run.

A failed send is recorded on its delivery row and retried by a later tick with backoff; the tick
itself does not fail, so one dead endpoint cannot stall the sensor.
"""

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from leap_core.notifications.outbox import drain
from leap_dagster.resources import LeapResource

TICK_BUDGET_S = 30.0
"""Stop claiming new deliveries after this much of the tick (Dagster times a sensor out at 60 s)."""


@sensor(minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Sends due notification deliveries (email, webhook) from the durable outbox.")
def notification_outbox_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SkipReason:
    core = leap.get()
    report = drain(core.db, core.settings, limit=100, budget_s=TICK_BUDGET_S)
    if report.failed:
        context.log.warning("notification deliveries given up: %s", report.failed)
    return SkipReason(f"sent {len(report.sent)}, retrying {len(report.retrying)}, failed {len(report.failed)}")
