"""Source sync: lists each enabled source when its interval has passed, registers new recordings through the
core and adds their partitions.

The cursor remembers, per source, when it was last listed and how that went, so a tick every 10 s does
not list a Zoom account every 10 s (LEAP_SOURCE_SYNC_INTERVAL_S, or a source's own `sync_interval_s`).
A failing source is reported on the tick and recorded on the source and in the audit log; the others
are synced regardless.
"""

import json
from datetime import UTC, datetime

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, sensor
from sqlalchemy import select

from leap_core.audit import Actor
from leap_core.db.models import Source
from leap_core.sources.sync import due, sync_sources
from leap_dagster.partitions import recordings
from leap_dagster.resources import LeapResource

SYNC_ACTOR = Actor("source-sync", origin="sensor")


def _last_listed(cursor: str | None) -> dict[str, datetime]:
    try:
        state = json.loads(cursor or "{}")
        return {source_id: datetime.fromisoformat(entry["at"]) for source_id, entry in state.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}  # an unreadable cursor only costs one early listing of every source


@sensor(minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING,
        description="Lists each enabled source when due; registers new recordings and settles pending ones.")
def source_sync_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SensorResult:
    core = leap.get()
    now = datetime.now(UTC)
    listed = _last_listed(context.cursor)
    with core.db.session() as session:
        sources = list(session.scalars(select(Source).where(Source.enabled.is_(True)).order_by(Source.id)))
        session.expunge_all()
    state: dict[str, dict[str, object]] = {s.id: {"at": listed[s.id].isoformat()} for s in sources if s.id in listed}
    waiting = due(sources, listed, now, core.settings)
    summaries = sync_sources(core.db, SYNC_ACTOR, core.settings, [s.id for s in waiting],
                             budget_s=core.settings.sync_tick_budget_s)
    new_keys: list[str] = []
    errors: list[str] = []
    for summary in summaries:
        state[summary.source_id] = {"at": now.isoformat(), "listed": summary.listed, "error": summary.error}
        new_keys += summary.registered
        if summary.error:
            errors.append(f"{summary.source_name}: {summary.error}")
            context.log.error("source %s failed to sync: %s", summary.source_name, summary.error)
    report = f"synced {len(summaries)} of {len(sources)} source(s), {len(new_keys)} new recording(s)"
    if len(summaries) < len(waiting):
        report += f"; {len(waiting) - len(summaries)} due source(s) left for the next tick (time budget)"
    if errors:
        report += "; failed: " + "; ".join(errors)
    cursor = json.dumps(state, sort_keys=True)
    if not new_keys:
        return SensorResult(skip_reason=report, cursor=cursor)
    context.log.info(report)
    return SensorResult(dynamic_partitions_requests=[recordings.build_add_request(new_keys)], cursor=cursor)
