"""A real run's LEAP log lines, read back as JSON: every line of the run names its recording and run, and a
secret the process knows never appears, even where a user's file name carried it into a message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from leap_core.api import UserAPI
from leap_core.secrets import REDACTED
from tests.fixtures.media import make_lecture

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "plantedsmtpsecret4242"  # lowercase letters and digits: it survives into the partition key's slug
ASSETS = ["raw_video", "trimmed_video", "transcript", "topics", "subtitles", "exported_video", "youtube_video",
          "vk_video"]  # the last two materialise nothing for a local-only template, but their steps run and log

# The run as the daemon would make it, in a fresh process that loads leap_dagster.definitions itself.
RUN = textwrap.dedent("""
    import json
    from dagster import DagsterInstance
    from tests.support.dagster import settle

    with DagsterInstance.ephemeral() as instance:
        runs = settle(instance)
        print(json.dumps([r.run_id for r in runs if r.success]))
""")


def json_lines(stderr: str) -> list[dict[str, Any]]:
    """LEAP's JSON lines among everything the process wrote (Dagster's own console lines are text)."""
    lines = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if str(record.get("logger", "")).startswith("leap_"):
                lines.append(record)
    return lines


def test_a_real_runs_json_lines_carry_its_ids_and_no_secret(demo: UserAPI, tmp_path: Path) -> None:
    inbox = Path(demo.sources()[0]["path"])
    shutil.copy(make_lecture().path, inbox / f"lecture {PLANTED}.mp4")
    settings = demo.leap.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAP_", "DAGSTER_"))}
    env.update({"PYTHONPATH": str(ROOT), "LEAP_HOME": str(settings.home),
                "LEAP_DATABASE_URL": settings.resolved_database_url,
                "LEAP_LOCAL_SOURCE_ROOTS": settings.local_source_roots,
                "LEAP_LOG_FORMAT": "json", "LEAP_SMTP_PASSWORD": PLANTED,
                "LEAP_INTAKE_STABLE_SECONDS": "0"})  # the file is complete: taken on the second scan

    done = subprocess.run([sys.executable, "-c", RUN], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, check=False)

    assert done.returncode == 0, done.stderr[-3000:]
    (run_id,) = json.loads(done.stdout.strip().splitlines()[-1])
    (recording,) = demo.recordings()
    assert recording["status"] == "UPLOADED"
    lines = json_lines(done.stderr)
    in_run = [line for line in lines if line.get("run_id") == run_id]
    assert {line["asset"] for line in in_run} == set(ASSETS)
    assert all(line["recording_id"] == recording["id"] for line in in_run)
    stage_lines = [line for line in lines if line["logger"] == "leap_dagster.assets.results"]
    assert len(stage_lines) == 2 * len(ASSETS)  # started, finished
    assert all(line.get("run_id") == run_id and line.get("recording_id") == recording["id"] for line in stage_lines)
    assert PLANTED not in done.stderr
    started = next(line for line in stage_lines if line["asset"] == "raw_video")
    assert REDACTED in started["message"] and PLANTED[:10] not in started["message"]
