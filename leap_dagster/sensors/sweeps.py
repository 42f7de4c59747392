"""`sweep_sensor`: the shape LEAP's housekeeping sensors share (disk cleanup, retention).

Each runs in the daemon on a long interval, is on by default, does one bounded batch of work in the core
and reports it as the tick's skip message (a housekeeping tick launches no run; the message is what an
operator reads on the sensor's page), with one log line when it freed something.
"""

from collections.abc import Callable
from dataclasses import dataclass

from dagster import DefaultSensorStatus, SensorDefinition, SensorEvaluationContext, SkipReason, sensor

from leap_core.api import Leap
from leap_dagster.resources import LeapResource


@dataclass(frozen=True)
class Swept:
    """One tick's result: `<verb> <count> <noun> (<freed> bytes freed)<detail>`."""

    verb: str
    count: int
    noun: str
    freed_bytes: int
    detail: str = ""

    @property
    def message(self) -> str:
        return f"{self.verb} {self.count} {self.noun} ({self.freed_bytes} bytes freed){self.detail}"


def sweep_sensor(
    interval_s: int, description: str
) -> Callable[[Callable[[SensorEvaluationContext, Leap], Swept]], SensorDefinition]:
    """A RUNNING sensor named after the decorated function, which does the batch and says what it swept."""
    def decorate(body: Callable[[SensorEvaluationContext, Leap], Swept]) -> SensorDefinition:
        @sensor(name=body.__name__, minimum_interval_seconds=interval_s, default_status=DefaultSensorStatus.RUNNING,
                description=description)
        def tick(context: SensorEvaluationContext, leap: LeapResource) -> SkipReason:
            swept = body(context, leap.get())
            if swept.count:
                context.log.info("%s %d %s, freed %d bytes", swept.verb, swept.count, swept.noun, swept.freed_bytes)
            return SkipReason(swept.message)
        return tick
    return decorate
