"""Pipeline stages: their `processing_stages` names and the recording states around them.

A stage knows the state it starts from, the state it works in, and the state it leaves behind
(None where the next stage of the same state continues, as transcript → topics → subtitles all
run inside TRANSCRIBING). Retry maps a failed stage back to its working state with this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from leap_core.states import RecordingStatus as R


@dataclass(frozen=True)
class Stage:
    name: str
    ready: R
    working: R
    done: R | None
    words: str

    @property
    def platform(self) -> str | None:
        return self.name.split(":", 1)[1] if self.name.startswith("upload:") else None


DOWNLOAD = Stage("download", R.INITIALIZED, R.DOWNLOADING, R.DOWNLOADED, "Downloading the recording…")
TRIM = Stage("trim", R.DOWNLOADED, R.PROCESSING, R.PROCESSED, "Trimming silence…")
TRANSCRIBE = Stage("transcribe", R.PROCESSED, R.TRANSCRIBING, None, "Transcribing audio…")
TOPICS = Stage("topics", R.TRANSCRIBING, R.TRANSCRIBING, None, "Extracting topics…")
SUBTITLES = Stage("subtitles", R.TRANSCRIBING, R.TRANSCRIBING, R.TRANSCRIBED, "Writing subtitles…")

PROCESSING_STAGES: tuple[Stage, ...] = (DOWNLOAD, TRIM, TRANSCRIBE, TOPICS, SUBTITLES)
PLATFORMS: tuple[str, ...] = ("local", "youtube", "vk")


def upload_stage(platform: str) -> Stage:
    return Stage(f"upload:{platform}", R.TRANSCRIBED, R.UPLOADING, None, f"Publishing to {platform}…")


def stage_named(name: str) -> Stage:
    for stage in PROCESSING_STAGES:
        if stage.name == name:
            return stage
    if name.startswith("upload:") and name.split(":", 1)[1] in PLATFORMS:
        return upload_stage(name.split(":", 1)[1])
    raise KeyError(f"unknown stage {name!r}")


def stage_for_working_state(status: R) -> Stage | None:
    """The first stage that works in `status`: where a run that died in that state was."""
    return next((s for s in PROCESSING_STAGES if s.working == status), None)
