"""From a recording and its template to a platform publish: the client with the account's decrypted
credential, and the request with the template's metadata, the topics' chapters and the subtitles.

A template's `presets` maps each platform to its settings (`presets["youtube"]`, `presets["vk"]`):

- `credential`: the name of the credential to publish with (optional when the user has just one);
- `title`, `description`, `tags`: sandboxed Jinja text (`leap_core.templates.render_preset`) over the
  recording's fields (`{{ title }}`, `{{ date }}`, `{{ summary }}`…; defaults `"{{ title }}"` and `""`);
  chapters from the topics are appended to the description; `tags` is a list or comma-separated text;
- `category_id`, `language` (of the title and description; default: the transcript's; the audio and
  the caption track always carry the transcript's own), `privacy` (`public`, `unlisted` or `private`,
  the default);
- YouTube only: `publish_at` (ISO 8601 with a time zone; needs `private`), `playlist_id`, `captions`
  (upload subtitles.srt; default true);
- VK only: `group_id`, `album_id`, `privacy_view` (VK's own value, overriding `privacy`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast, get_args

from leap_core import credentials
from leap_core.config import Settings
from leap_core.db.models import OutputTarget
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.errors import ValidationError
from leap_core.notifications import credential_unhealthy, notify
from leap_core.pipeline import work
from leap_core.pipeline.runner import StageInput, load
from leap_core.publishing.base import (
    Checkpoint,
    PrivacyStatus,
    Publisher,
    PublishRequest,
    PublishResult,
    ReconnectRequired,
)
from leap_core.publishing.metadata import DEFAULT_CHUNK_SIZE, fit
from leap_core.publishing.targets import Published
from leap_core.secrets import SecretBox
from leap_core.speech.topic_models import Topics
from leap_core.speech.transcript import Transcript
from leap_core.templates import preset_context, render_preset

PUBLISHING_PLATFORMS = ("youtube", "vk")


@dataclass(frozen=True)
class PlatformConfig:
    """Where the platforms are and how hard to try; the defaults are the real platforms and their costs."""

    youtube_root_url: str | None = None
    google_token_uri: str | None = None
    vk_api_url: str | None = None
    youtube_chunk_size: int = DEFAULT_CHUNK_SIZE
    youtube_quota_costs: Mapping[str, int] = field(default_factory=dict)
    max_retries: int = 5
    backoff_s: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> PlatformConfig:
        return cls(
            youtube_root_url=settings.youtube_root_url,
            google_token_uri=settings.google_token_uri,
            vk_api_url=settings.vk_api_url,
            youtube_chunk_size=settings.youtube_chunk_size,
            youtube_quota_costs=dict(settings.youtube_quota_costs),
            max_retries=settings.publish_max_retries,
            backoff_s=settings.publish_backoff_s,
        )


@dataclass(frozen=True)
class Account:
    """A credential ready for a client: its name (for metadata) and its decrypted fields (for nothing else)."""

    id: str
    name: str
    secret: Mapping[str, str] = field(repr=False)


def preset_for(template: Mapping[str, Any], platform: str) -> dict[str, Any]:
    preset = (template.get("presets") or {}).get(platform) or {}
    if not isinstance(preset, Mapping):
        raise ValidationError(f"the template's {platform} preset must be a mapping of settings")
    return dict(preset)


def load_account(db: Database, settings: Settings, user_id: str, platform: str, preset: Mapping[str, Any]) -> Account:
    """The credential the preset names, decrypted in a short read-only transaction."""
    box = SecretBox(settings.secret_keys)
    with db.session() as session:
        credential = credentials.for_target(session, user_id, platform, preset)
        return Account(credential.id, credential.name, credentials.reveal(credential, box))


def publisher_for(platform: str, account: Account, preset: Mapping[str, Any], config: PlatformConfig) -> Publisher:
    # Clients imported in their branch: the Google and VK libraries are heavy (keeps run-worker start-up fast).
    if platform == "youtube":
        from leap_core.publishing.youtube import YouTubePublisher

        return YouTubePublisher(
            account.secret, root_url=config.youtube_root_url, token_uri=config.google_token_uri,
            chunk_size=config.youtube_chunk_size, quota_costs=config.youtube_quota_costs,
            max_retries=config.max_retries, backoff_s=config.backoff_s,
        )
    if platform == "vk":
        from leap_core.publishing.vk import VkPublisher

        return VkPublisher(
            account.secret.get("token", ""), api_url=config.vk_api_url,
            group_id=_optional_int(preset, "group_id", platform), album_id=_optional_int(preset, "album_id", platform),
            privacy=_optional_str(preset, "privacy_view"), max_retries=config.max_retries, backoff_s=config.backoff_s,
        )
    raise ValidationError(f"LEAP cannot publish to {platform!r}; it publishes to {', '.join(PUBLISHING_PLATFORMS)}")


def read_topics(stage_input: StageInput) -> Topics | None:
    path = stage_input.files.topics
    return Topics.model_validate_json(path.read_text(encoding="utf-8")) if path.exists() else None


def render_context(db: Database, stage_input: StageInput, topics: Topics | None) -> dict[str, Any]:
    """The fields a preset's text may use, the same ones the template editor validates against."""
    chapters = [c.model_dump() for c in topics.chapters] if topics else []
    with db.session() as session:
        recording = load(session, stage_input.recording_id)
        return preset_context(recording, stage_input.user_slug, topics.keywords if topics else [], chapters,
                              topics.summary if topics else "")


def publish_request(
    stage_input: StageInput, platform: str, preset: Mapping[str, Any], topics: Topics | None,
    context: Mapping[str, Any],
) -> PublishRequest:
    """The video and its metadata as the template asks for them on `platform`."""
    srt = stage_input.files.srt
    spoken = _transcript_language(stage_input)
    wants_captions = platform == "youtube" and bool(preset.get("captions", True)) and srt.exists()
    return PublishRequest(
        video_path=work.trimmed_media(stage_input),
        title=_render(preset, "title", "{{ title }}", context, platform),
        description=_render(preset, "description", "", context, platform),
        tags=_tags(preset, context, platform),
        category_id=_optional_str(preset, "category_id"),
        language=_optional_str(preset, "language") or spoken,
        spoken_language=spoken,
        privacy_status=_privacy(preset, platform),
        publish_at=_publish_at(preset, platform),
        playlist_id=_optional_str(preset, "playlist_id") if platform == "youtube" else None,
        captions_srt=srt if wants_captions else None,
        chapters=[(c.start, c.title) for c in topics.chapters] if topics else [],
        thumbnail=_thumbnail(stage_input, platform, preset, topics),
    )


def _thumbnail(
    stage_input: StageInput, platform: str, preset: Mapping[str, Any], topics: Topics | None,
) -> Path | None:
    """The title slide for YouTube, unless the preset says `thumbnail: false` or there is none."""
    if platform != "youtube" or not preset.get("thumbnail", True) or topics is None or not topics.thumbnail:
        return None
    path = stage_input.files.root / "slides" / topics.thumbnail
    return path if path.is_file() else None


class PlatformPublish:
    """`TargetRunner`'s publish step for one platform: account, client, request, then the upload itself,
    continuing from the target's stored resume state and checkpointing into it."""

    def __init__(
        self, platform: str, settings: Settings, db: Database, checkpoint_for: Callable[[str], Checkpoint]
    ) -> None:
        self.platform = platform
        self.settings = settings
        self.db = db
        self.checkpoint_for = checkpoint_for

    def __call__(self, stage_input: StageInput, target: OutputTarget) -> Published:
        preset = preset_for(stage_input.template, self.platform)
        account = load_account(self.db, self.settings, stage_input.user_id, self.platform, preset)
        try:
            publisher = publisher_for(self.platform, account, preset, PlatformConfig.from_settings(self.settings))
            topics = read_topics(stage_input)
            request = publish_request(
                stage_input, self.platform, preset, topics, render_context(self.db, stage_input, topics))
            result = publisher.publish(
                request,
                resume_state=dict(target.resume_state or {}) or None,
                checkpoint=self.checkpoint_for(target.id),
            )
        except ReconnectRequired as exc:
            self._ask_to_reconnect(stage_input.user_id, account, str(exc))
            raise
        notes = fit(self.platform, request.title, request.description, request.chapters, request.tags).notes
        return Published(result.video_id, result.url, result_metadata(result, account, notes))

    def _ask_to_reconnect(self, user_id: str, account: Account, problem: str) -> None:
        """One notice per account per day however many targets fail on it, so a revoked grant is no storm."""
        day = utcnow().date().isoformat()
        with self.db.session() as session:
            notify(session, user_id, credential_unhealthy(account.id, self.platform, account.name, problem, day))


def result_metadata(
    result: PublishResult, account: Account, truncated: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """What the asset shows about a publish: the account by name, what was sent, what it cost, and
    which fields were cut to the platform's limits (empty when everything fit)."""
    return {
        "platform": result.platform, "credential": account.name, "bytes_sent": result.bytes_sent,
        "resumed_from": result.resumed_from, "quota_units": result.quota_units, "truncated": truncated or [],
        "skipped": list(result.skipped),
    }


def _transcript_language(stage_input: StageInput) -> str | None:
    path = stage_input.files.transcript
    return Transcript.model_validate_json(path.read_text(encoding="utf-8")).language if path.exists() else None


def _render(preset: Mapping[str, Any], key: str, default: str, context: Mapping[str, Any], platform: str) -> str:
    try:
        return render_preset(str(preset.get(key, default)), context)
    except ValidationError as exc:
        raise ValidationError(f"the template's {platform} {key}: {exc}") from None


def _tags(preset: Mapping[str, Any], context: Mapping[str, Any], platform: str) -> list[str]:
    tags = preset.get("tags", [])
    if isinstance(tags, str):
        return [tag.strip() for tag in _render(preset, "tags", "", context, platform).split(",") if tag.strip()]
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ValidationError(f"the template's {platform} tags must be a list of strings or comma-separated text")
    return list(tags)


def _privacy(preset: Mapping[str, Any], platform: str) -> PrivacyStatus:
    privacy = preset.get("privacy", "private")
    allowed = get_args(PrivacyStatus)
    if privacy not in allowed:
        raise ValidationError(f"the template's {platform} privacy must be one of {', '.join(allowed)}")
    return cast(PrivacyStatus, privacy)


def _publish_at(preset: Mapping[str, Any], platform: str) -> datetime | None:
    raw = preset.get("publish_at")
    if raw is None or platform != "youtube":
        return None
    try:
        return datetime.fromisoformat(str(raw))
    except ValueError:
        raise ValidationError(f"the template's publish_at is not an ISO 8601 time: {raw!r}") from None


def _optional_str(preset: Mapping[str, Any], key: str) -> str | None:
    value = preset.get(key)
    return str(value) if value not in (None, "") else None


def _optional_int(preset: Mapping[str, Any], key: str, platform: str) -> int | None:
    value = preset.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"the template's {platform} {key} must be a number, not {value!r}") from None
