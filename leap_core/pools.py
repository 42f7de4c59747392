"""The concurrency pools LEAP's steps run in, and each pool's default limit: the one table.

Every asset names its pool from here (`pool=POOLS_BY_STAGE...` is not needed: the names are the
constants below), the Dagster instance gets its limits from here on every start-up path (`leap init`,
`./scripts/dev`, `deploy/commands.sh daemon|pools`, and the `pool_limits_sensor` that converges an
instance nobody set up), and `leap admin pools` shows them. `LEAP_POOL_<NAME>` overrides a limit
(read through `Settings.pool_limits`). The defaults suit the specification's two-core machine:
two ffmpeg jobs, one Whisper, network-bound downloads and uploads four at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def env_name(pool: str) -> str:
    """`LEAP_POOL_MEDIA` for `media`: the variable that overrides the pool's limit."""
    return f"LEAP_POOL_{pool.upper()}"
