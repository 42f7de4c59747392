"""A 30 s outage of LEAP's PostgreSQL mid-transcription ends, with no manual step, in a FAILED recording
that says why, and `retry` publishes it once the database is back.

The database is a private cluster the test stops (`pg_ctl stop -m immediate`, as a crash would) while
a real run worker (`dagster api execute_run`) transcribes; the worker cannot record its stage's end,
its run fails, and one recovery tick (the reconciler) moves the recording to FAILED at `transcribe`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from leap_core.api import Leap, UserAPI
from leap_core.bootstrap import init_embedded
from leap_core.config import Settings
from leap_core.db.session import Database
from tests.dagster.test_recovery import launch_in_child, next_run_request, tick_recovery, wait_for_stage
from tests.fixtures.media import make_lecture
from tests.support.dagster import settle, tick_sync
from tests.support.private_postgres import available, private_cluster

OUTAGE_S = 30


@pytest.mark.slow
def test_a_database_outage_mid_stage_ends_failed_with_the_cause_and_retry_publishes_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: DagsterInstance
) -> None:
    if (why := available()) is not None:
        pytest.fail(f"a private PostgreSQL cluster is needed: {why}")
    with private_cluster() as cluster:
        Database(cluster.url).upgrade()
        home = tmp_path / "leap-home"
        for key, value in {"LEAP_HOME": str(home), "LEAP_DATABASE_URL": cluster.url,
                           "LEAP_LOCAL_SOURCE_ROOTS": str(tmp_path), "LEAP_RECONCILE_GRACE_SECONDS": "0"}.items():
            monkeypatch.setenv(key, value)
        leap = Leap(Settings(home=home, database_url=cluster.url, local_source_roots=str(tmp_path)),
                    Database(cluster.url))
        init_embedded(leap)
        demo: UserAPI = leap.as_user("demo")
        shutil.copy(make_lecture().path, Path(demo.sources()[0]["path"]) / "lecture.mp4")
        tick_sync(instance)
        tick_sync(instance)
        run, child = launch_in_child(instance, next_run_request(instance))
        wait_for_stage(demo, "transcribe", child)

        cluster.stop()
        stopped = time.monotonic()
        child.wait(timeout=600)  # the worker ends: it cannot write the stage's result
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
        cluster.start()
        leap.db.dispose()  # the pool's connections died with the server

        assert instance.get_run_by_id(run.run_id).status is DagsterRunStatus.FAILURE  # type: ignore[union-attr]
        tick_recovery(instance)
        (recording,) = demo.recordings()
        assert (recording["status"], recording["failed_at_stage"]) == ("FAILED", "transcribe")
        assert "database was unreachable" in recording["error"]

        demo.retry([recording["id"]])
        settle(instance)
        assert demo.recording(recording["id"])["status"] == "UPLOADED"
        assert len(demo.activity(action="target.upload")) == 1
        leap.db.dispose()
