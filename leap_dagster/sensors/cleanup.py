"""Removes temporary and partial files that killed workers left in storage and export (`leap_core.cleanup`).

Why a sensor and not a sweep when the definitions load (ADR 0025): the definitions are loaded by the code
server and again by every run worker, so a sweep there would run once per run, race the other recordings'
live runs, and slow every worker's start-up; a sensor runs in the daemon alone, its first tick comes right
after the daemon starts (the start-up sweep), later ticks catch what a worker killed since then left, and
an operator sees each tick's result in the UI. A tick walks storage for at most `BUDGET_S` and keeps
where it stopped in its cursor (Dagster times a sensor out at 60 s; 10,000 recording folders took ~4 s
on the loaded 2-core machine, bench/cleanup.py), so any number of recordings is covered in a few ticks.
"""

from dagster import SensorEvaluationContext

from leap_core import cleanup
from leap_core.api import Leap
from leap_dagster.sensors.sweeps import Swept, sweep_sensor

BUDGET_S = 20.0


@sweep_sensor(600, "Removes temporary and partial files (trim work folders, .part downloads, partial exports) "
                   "that killed workers left, except those of recordings a run may still be working on.")
def disk_cleanup_sensor(context: SensorEvaluationContext, core: Leap) -> Swept:
    with core.db.session() as session:
        report = cleanup.sweep(session, core.settings, start_after=context.cursor or "", budget_s=BUDGET_S)
    context.update_cursor(report.resume_after)
    resumes = f"; resumes after {report.resume_after}" if report.resume_after else ""
    return Swept("removed", len(report.removed), "strays", report.freed_bytes,
                 f"; kept {report.kept_in_flight} of running recordings and {report.kept_young} younger than "
                 f"{cleanup.MIN_AGE_S:g} s{resumes}")
