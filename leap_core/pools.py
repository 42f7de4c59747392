"""The concurrency pools LEAP's steps run in, and each pool's default limit: the one table.

Every asset and op names its pool with the constants below (`pool=MEDIA`). The Dagster instance gets
its limits from here on every start-up path: `leap init` (so `./scripts/dev`), `deploy/commands.sh
daemon|pools`, and the `pool_limits_sensor`, which converges an instance nobody set up. `leap admin
pools` shows them. `LEAP_POOL_<NAME>` overrides a limit (read through `Settings.pool_limits`). The
defaults suit the specification's two-core machine: two ffmpeg jobs, one Whisper, network-bound
downloads and uploads four at a time, one automation run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Literal

from leap_core.errors import LeapError

DOWNLOAD = "download"
MEDIA = "media"
TRANSCRIPTION = "transcription"
UPLOAD = "upload"
AUTOMATION = "automation"


@dataclass(frozen=True)
class Pool:
    name: str
    default_limit: int
    holds: str
    """What runs in the pool, for `leap admin pools` and the README."""


POOLS: dict[str, Pool] = {pool.name: pool for pool in (
    Pool(DOWNLOAD, 4, "fetching source files (raw_video)"),
    Pool(MEDIA, 2, "ffmpeg: speech bounds and trimming (trimmed_video)"),
    Pool(TRANSCRIPTION, 1, "Whisper or the OpenAI transcriber (transcript)"),
    Pool(UPLOAD, 4, "exports and platform uploads (exported_video, youtube_video, vk_video)"),
    Pool(AUTOMATION, 1, "an automation job's run: source sync, matching, run requests (automation_run)"),
)}


def instance_pools(action: Literal["apply", "show"], dagster_home: str) -> Any:
    """Apply the table to, or read the pools of, the Dagster instance in `dagster_home`.

    leap_core never imports Dagster, so `leap init` and `leap admin pools` ask the Dagster layer in a
    child process (`python -m leap_dagster.pools`), the same command deploy/commands.sh runs.
    """
    if importlib.util.find_spec("leap_dagster") is None:
        raise LeapError("the Dagster layer (leap_dagster) is not installed here, so there are no pools to set")
    done = subprocess.run([sys.executable, "-m", "leap_dagster.pools", action, "--json"], capture_output=True,
                          text=True, env={**os.environ, "DAGSTER_HOME": dagster_home}, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise LeapError(f"could not {action} the pools of the Dagster instance in {dagster_home}: {last}")
    return json.loads(done.stdout)
