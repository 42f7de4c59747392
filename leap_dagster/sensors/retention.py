"""Archives published recordings whose template's retention has passed, a bounded batch per tick.

Why a sensor and not a schedule: it is housekeeping with no user-facing time, and a batch per hour
keeps each tick short (Dagster times a sensor out at 60 s) while a backlog — retention switched on for
a template with years of recordings — drains steadily instead of in one long transaction.
"""

from dagster import SensorEvaluationContext

from leap_core import retention
from leap_core.api import Leap
from leap_core.audit import Actor
from leap_core.db.types import utcnow
from leap_dagster.sensors.sweeps import Swept, sweep_sensor

RETENTION_ACTOR = Actor("retention", origin="sensor")


@sweep_sensor(3600, "Archives published recordings past their template's retention (partition removed, "
                    "outputs kept in LEAP's database).")
def retention_sensor(context: SensorEvaluationContext, core: Leap) -> Swept:
    with core.db.session() as session:
        rows = retention.due(session, utcnow(), core.settings.retention_batch_size)
        report, folders = retention.archive(session, RETENTION_ACTOR, rows, core.settings.resolved_storage_dir,
                                            reason="retention")
    for folder in folders:  # only after the commit: a failed transaction deletes nothing
        folder.remove()
    return Swept("archived", len(report.archived), "recordings", report.freed_bytes)
