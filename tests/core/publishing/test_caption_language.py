"""The caption track carries the language that was spoken, whatever language the template's metadata is in.

A template whose YouTube preset says `language: en` (its titles are English) and transcribes with `auto`
must still publish a Russian lecture's subtitles as a Russian track: YouTube shows a track labelled
English otherwise, and its own translations start from the wrong language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leap_core.config import Settings
from leap_core.pipeline.runner import StageInput
from leap_core.publishing.platforms import publish_request
from leap_core.publishing.youtube import CHUNK_UNIT, YouTubePublisher
from leap_core.speech.transcript import Transcript
from leap_core.storage import RecordingFiles
from tests.core.publishing.conftest import SRT
from tests.fakes.youtube import FakeYouTube


def _stage_input(root: Path, video: Path, spoken: str, presets: dict[str, Any]) -> StageInput:
    files = RecordingFiles(root, "mp4")
    video.replace(files.trimmed)
    files.srt.write_text(SRT, encoding="utf-8")
    files.transcript.write_text(Transcript(language=spoken, duration=4.0, backend="local",
                                           model="faster-whisper:base").model_dump_json(), encoding="utf-8")
    return StageInput(recording_id="rec-1", user_id="user-1", user_slug="ada", title="Лекция 1",
                      source_id=None, source_file_id="f-1", source_name="lecture.mp4", source_size=None,
                      source_extra={}, recorded_at=None, files=files, template={"presets": presets},
                      settings=Settings())


def test_a_russian_transcript_under_an_english_template_publishes_a_russian_track(video: Path,
                                                                                   tmp_path: Path) -> None:
    preset = {"title": "{{ title }}", "language": "en"}
    stage_input = _stage_input(tmp_path, video, "ru", {"youtube": preset})
    request = publish_request(stage_input, "youtube", preset, None, {"title": "Lecture 1"})
    with FakeYouTube() as fake:
        publisher = YouTubePublisher(fake.credentials(), root_url=fake.url, token_uri=fake.token_uri,
                                     chunk_size=CHUNK_UNIT, backoff_s=0.0)
        result = publisher.publish(request, resume_state=None, checkpoint=lambda state: None)
        [caption] = fake.captions.values()
        snippet = fake.videos[result.video_id]["snippet"]
    assert caption["language"] == "ru"
    assert (snippet["defaultLanguage"], snippet["defaultAudioLanguage"]) == ("en", "ru")


def test_without_a_template_language_everything_is_the_transcripts(video: Path, tmp_path: Path) -> None:
    stage_input = _stage_input(tmp_path, video, "ru", {})
    youtube = publish_request(stage_input, "youtube", {}, None, {"title": "Лекция 1"})
    vk = publish_request(stage_input, "vk", {}, None, {"title": "Лекция 1"})
    assert (youtube.language, youtube.captions_language) == ("ru", "ru")
    # VK's API (video.save / video.edit, 5.199) takes neither a caption file nor a language: none is sent.
    assert vk.captions_srt is None
