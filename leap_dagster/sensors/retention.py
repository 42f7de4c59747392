"""Archives published recordings whose template's retention has passed, a bounded batch per tick.

Why a sensor and not a schedule: it is housekeeping with no user-facing time, and a batch per hour
keeps each tick short (Dagster times a sensor out at 60 s) while a backlog — retention switched on for
a template with years of recordings — drains steadily instead of in one long transaction.
"""

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from leap_core import retention
from leap_core.audit import Actor
from leap_core.db.types import utcnow
from leap_dagster.resources import LeapResource

RETENTION_ACTOR = Actor("retention", origin="sensor")


@sensor(minimum_interval_seconds=3600, default_status=DefaultSensorStatus.RUNNING,
        description="Archives published recordings past their template's retention (partition removed, "
                    "outputs kept in LEAP's database).")
def retention_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SkipReason:
    core = leap.get()
    with core.db.session() as session:
        rows = retention.due(session, utcnow(), core.settings.retention_batch_size)
        report, folders = retention.archive(session, RETENTION_ACTOR, rows, core.settings.resolved_storage_dir,
                                            reason="retention")
    for folder in folders:  # only after the commit: a failed transaction deletes nothing
        folder.remove()
    if report.archived:
        context.log.info("archived %d recordings, freed %d bytes", len(report.archived), report.freed_bytes)
    return SkipReason(f"archived {len(report.archived)} recordings ({report.freed_bytes} bytes freed)")
