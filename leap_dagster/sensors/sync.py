"""Source sync: lists every enabled source, registers new recordings and adds their partitions."""

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor
from sqlalchemy import select

from leap_core.audit import Actor
from leap_core.db.models import Source
from leap_core.sources.sync import sync_source
from leap_dagster.partitions import recordings
from leap_dagster.resources import LeapResource

SYNC_ACTOR = Actor("source-sync", origin="sensor")


@sensor(minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING,
        description="Lists every enabled source; registers new recordings and settles pending ones.")
def source_sync_sensor(context: SensorEvaluationContext, leap: LeapResource) -> SensorResult | SkipReason:
    core = leap.get()
    new_keys: list[str] = []
    errors: list[str] = []
    with core.db.session() as session:
        sources = session.scalars(select(Source).where(Source.enabled.is_(True)).order_by(Source.id)).all()
    for source in sources:
        with core.db.session() as session:
            attached = session.merge(source)
            summary = sync_source(session, SYNC_ACTOR, attached, core.settings)
        new_keys += summary.registered
        if summary.error:
            errors.append(f"{source.name}: {summary.error}")
    if not new_keys:
        return SkipReason("; ".join(errors) or f"no new recordings in {len(sources)} source(s)")
    context.log.info("registered %d recording(s)%s", len(new_keys), f"; errors: {errors}" if errors else "")
    return SensorResult(dynamic_partitions_requests=[recordings.build_add_request(new_keys)])
