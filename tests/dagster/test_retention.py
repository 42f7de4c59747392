"""Retention on a real Dagster instance: the retention sensor archives, the launcher drops the partition,
restore brings it back with its history; the published export copy is never touched."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from dagster import AssetKey, DagsterInstance, SkipReason, build_sensor_context
from sqlalchemy import update

from leap_core.api import UserAPI
from leap_core.db.models import Recording
from leap_core.db.types import utcnow
from leap_dagster.definitions import defs
from leap_dagster.sensors.retention import retention_sensor
from tests.fixtures.media import make_lecture
from tests.support.dagster import RESOURCES, settle, tick_launcher


def tick_retention(instance: DagsterInstance) -> str:
    result = retention_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))
    assert isinstance(result, SkipReason)
    return str(result.skip_message)


def test_a_recording_past_retention_loses_its_partition_and_files_and_restore_brings_them_back(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    inbox = Path(demo.sources()[0]["path"])
    shutil.copy(make_lecture().path, inbox / "old.mp4")
    shutil.copy(make_lecture().path, inbox / "new.mp4")
    settle(instance)
    old, new = sorted(demo.recordings(), key=lambda r: r["title"], reverse=True)
    assert {old["status"], new["status"]} == {"UPLOADED"}
    storage = demo.leap.settings.resolved_storage_dir / "demo"
    export = demo.leap.settings.resolved_export_dir / "demo" / old["id"]
    assert (storage / old["id"] / "transcript.json").exists() and export.exists()
    demo.templates_api.update("inbox", retention={"days": 7})
    with demo.leap.db.session() as session:
        session.execute(update(Recording).where(Recording.id == old["id"])
                        .values(updated_at=utcnow() - timedelta(days=8)))

    assert tick_retention(instance).startswith("archived 1 recordings")
    assert tick_launcher(instance) == []  # a partition change, never a run

    live = instance.get_dynamic_partitions("recordings")
    assert old["partition_key"] not in live and new["partition_key"] in live
    assert not (storage / old["id"]).exists() and (storage / new["id"]).exists()
    assert export.exists()  # the published copy stays, like a platform video
    assert demo.recording(old["id"])["archived_at"] is not None
    assert tick_retention(instance).startswith("archived 0 recordings")

    demo.restore([old["id"]])
    assert tick_launcher(instance) == []
    assert old["partition_key"] in instance.get_dynamic_partitions("recordings")
    assert (storage / old["id"] / "subtitles.srt").exists()
    history = instance.fetch_materializations(AssetKey("transcript"), limit=10).records
    assert old["partition_key"] in {r.partition_key for r in history}  # the instance kept the history
