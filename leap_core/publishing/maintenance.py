"""What can be done to videos already published: update their metadata and captions, or take them down.

Neither ever uploads a video: `republish` changes what a published video says (after a reprocess
improved its transcript or chapters), `unpublish` removes it from the platform when its recording is
deleted with `--unpublish`. Each platform's outcome is recorded, so one failing platform never hides
the others' results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from leap_core import audit
from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.db.models import OutputTarget
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.errors import LeapError
from leap_core.pipeline.runner import StageInput, load, snapshot
from leap_core.publishing.base import Publisher
from leap_core.publishing.platforms import (
    PUBLISHING_PLATFORMS,
    PlatformConfig,
    load_account,
    preset_for,
    publish_request,
    publisher_for,
    read_topics,
    render_context,
)
from leap_core.states import TargetStatus


@dataclass(frozen=True)
class PublishedVideo:
    target_id: str
    platform: str
    video_id: str


def published_videos(db: Database, settings: Settings, recording_id: str) -> tuple[StageInput, list[PublishedVideo]]:
    with db.session() as session:
        recording = load(session, recording_id)
        targets = session.scalars(select(OutputTarget).where(
            OutputTarget.recording_id == recording_id, OutputTarget.status == TargetStatus.UPLOADED,
            OutputTarget.platform.in_(PUBLISHING_PLATFORMS), OutputTarget.video_id.is_not(None)))
        videos = [PublishedVideo(t.id, t.platform, str(t.video_id)) for t in targets
                  if not (t.resume_state or {}).get("unpublished_at")]  # already taken down
        return snapshot(session, recording, settings), videos


def _record(db: Database, actor: Actor, action: str, stage_input: StageInput, video: PublishedVideo,
            error: str | None) -> dict[str, Any]:
    outcome = {"recording_id": stage_input.recording_id, "platform": video.platform, "video_id": video.video_id,
               "result": "failure" if error else "success", "error": error}
    with db.session() as session:
        if action == "target.unpublish":
            target = session.get_one(OutputTarget, video.target_id)
            target.takedown_error = error  # the failed take-down stays visible until a retry removes the video
            if error is None:
                target.resume_state = {"unpublished_at": utcnow().isoformat()}
                target.url = None
        audit.record(session, actor, action, "output_target", video.target_id, user_id=stage_input.user_id,
                     details={k: v for k, v in outcome.items() if k != "result"},
                     result="failure" if error else "success")
    return outcome


Action = Callable[[Database, Settings, StageInput, PublishedVideo], None]


def _for_each_video(db: Database, settings: Settings, actor: Actor, recording_id: str, audit_action: str,
                    act: Action) -> list[dict[str, Any]]:
    """Run `act` on every published video of the recording; one platform's refusal never stops the others."""
    stage_input, videos = published_videos(db, settings, recording_id)
    outcomes = []
    for video in videos:
        error = None
        try:
            act(db, settings, stage_input, video)
        except LeapError as exc:
            error = str(exc)
        outcomes.append(_record(db, actor, audit_action, stage_input, video, error))
    return outcomes


def _publisher(db: Database, settings: Settings, stage_input: StageInput, video: PublishedVideo) -> tuple[
        Publisher, dict[str, Any]]:
    preset = preset_for(stage_input.template, video.platform)
    account = load_account(db, settings, stage_input.user_id, video.platform, preset)
    return publisher_for(video.platform, account, preset, PlatformConfig.from_settings(settings)), preset


def _update(db: Database, settings: Settings, stage_input: StageInput, video: PublishedVideo) -> None:
    publisher, preset = _publisher(db, settings, stage_input, video)
    topics = read_topics(stage_input)
    request = publish_request(stage_input, video.platform, preset, topics, render_context(db, stage_input, topics))
    publisher.update_metadata(video.video_id, request)


def _take_down(db: Database, settings: Settings, stage_input: StageInput, video: PublishedVideo) -> None:
    _publisher(db, settings, stage_input, video)[0].delete(video.video_id)


def refresh(db: Database, settings: Settings, stage_input: StageInput, target: OutputTarget,
            changed: list[str]) -> dict[str, Any]:
    """After a reprocess (`changed` names the regenerated stages): the published video's title, description,
    tags, chapters and captions are updated from the new files; the video itself is never uploaded again.

    Returns what was updated and, in `not_refreshed`, why anything was not, for the asset's metadata.
    """
    if (target.resume_state or {}).get("unpublished_at"):
        return {"refreshed": [], "not_refreshed": "the video was taken down from the platform"}
    preset = preset_for(stage_input.template, target.platform)
    video = PublishedVideo(target.id, target.platform, str(target.video_id))
    _update(db, settings, stage_input, video)
    captions = target.platform == "youtube" and bool(preset.get("captions", True)) and stage_input.files.srt.exists()
    refreshed = (["title", "description", "chapters"] if target.platform == "vk"
                 else ["title", "description", "tags", "chapters", *(["captions"] if captions else [])])
    reasons = []
    if target.platform == "vk":
        reasons.append("captions: VK gets its chapters in the description; LEAP uploads no caption file to VK")
    elif not captions:
        reasons.append("captions: the template's youtube preset turns captions off")
    if "trim" in changed:
        reasons.append("video: the trimmed video changed, but a published video is never uploaded again "
                       "(delete it with --unpublish and process the recording again to replace it)")
    return {"refreshed": refreshed, **({"not_refreshed": "; ".join(reasons)} if reasons else {})}


def republish(db: Database, settings: Settings, actor: Actor, recording_id: str) -> list[dict[str, Any]]:
    """Push the current title, description, tags, chapters and captions to every published video."""
    return _for_each_video(db, settings, actor, recording_id, "target.republish", _update)


def unpublish(db: Database, settings: Settings, actor: Actor, recording_id: str) -> list[dict[str, Any]]:
    """Delete every published video of the recording still up on its platform.

    A video already taken down by an earlier call is skipped, so calling this again retries exactly the
    take-downs that failed (each failure is kept on its target as `takedown_error`).
    """
    return _for_each_video(db, settings, actor, recording_id, "target.unpublish", _take_down)
