"""The disk clean-up sensor on a real Dagster instance: a killed trim's work folder and a partial export of a
failed recording are removed on its tick; a running recording's are kept."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dagster import DagsterInstance, SkipReason, build_sensor_context

from leap_core.api import UserAPI
from leap_core.states import RecordingStatus
from leap_dagster.definitions import defs
from leap_dagster.sensors.cleanup import disk_cleanup_sensor
from tests.support.builders import force_status, register_many
from tests.support.dagster import RESOURCES


def aged(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 1000)
    past = time.time() - 3600
    os.utime(path, (past, past))
    os.utime(path.parent, (past, past))
    return path


def test_the_sensor_removes_strays_of_failed_recordings_and_keeps_those_of_running_ones(
    demo: UserAPI, instance: DagsterInstance
) -> None:
    assert "disk_cleanup_sensor" in {s.name for s in defs.get_repository_def().sensor_defs}
    failed, running = register_many(demo, 2)
    force_status(demo, [failed], RecordingStatus.FAILED, "trim")
    force_status(demo, [running], RecordingStatus.PROCESSING)
    storage, export = demo.leap.settings.resolved_storage_dir / "demo", demo.leap.settings.resolved_export_dir / "demo"
    gone = [aged(storage / failed / ".leap-trim-dead" / "partial.mp4"),
            aged(export / f".{failed}.partial" / "video.mp4")]
    live = aged(storage / running / ".leap-trim-live" / "partial.mp4")

    result = disk_cleanup_sensor(build_sensor_context(instance=instance, definitions=defs, resources=RESOURCES))

    assert isinstance(result, SkipReason)
    assert str(result.skip_message).startswith("removed 2 strays (2000 bytes freed); kept 1 of running recordings")
    assert not any(p.exists() or p.parent.exists() for p in gone)
    assert live.exists()
