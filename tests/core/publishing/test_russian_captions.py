"""A Russian lecture end to end at the edge: transcribed as `ru`, its subtitles and chapters published to
the fake YouTube as a Russian caption track and a Russian chapter list."""

from __future__ import annotations

from pathlib import Path

import pytest

from leap_core.publishing.base import PublishRequest
from leap_core.publishing.youtube import CHUNK_UNIT, YouTubePublisher
from leap_core.speech.local_topics import LocalTopicExtractor
from leap_core.speech.local_whisper import LocalWhisperTranscriber
from leap_core.speech.subtitles import build_cues, write_srt
from tests.core.speech.test_russian_text import _lecture
from tests.fakes.youtube import FakeYouTube
from tests.fixtures.voices import RUSSIAN_FESTIVAL, RUSSIAN_TEXT, festival_available, speak


def _cyrillic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("\u0400" <= c <= "\u04ff" for c in letters) / max(1, len(letters))


@pytest.mark.skipif(not festival_available(), reason="Festival's Russian voice is not installed")
def test_a_russian_lecture_publishes_a_russian_caption_track_and_chapters(video: Path, tmp_path: Path) -> None:
    transcript = LocalWhisperTranscriber(language="ru").transcribe(speak(RUSSIAN_FESTIVAL, RUSSIAN_TEXT).path,
                                                                  work_dir=tmp_path / "work")
    srt_path = write_srt(build_cues(transcript), tmp_path / "ru.srt")
    chapters = LocalTopicExtractor().extract(_lecture()).chapters
    with FakeYouTube() as fake:
        publisher = YouTubePublisher(fake.credentials(), root_url=fake.url, token_uri=fake.token_uri,
                                     chunk_size=CHUNK_UNIT, backoff_s=0.0)
        request = PublishRequest(video_path=video, title="Лекция 1 — введение", description="Линейная алгебра.",
                                 tags=[], language=transcript.language, privacy_status="unlisted",
                                 captions_srt=srt_path, chapters=[(c.start, c.title) for c in chapters])
        result = publisher.publish(request, resume_state=None, checkpoint=lambda state: None)
        [caption] = fake.captions.values()
        uploaded = fake.videos[result.video_id]
    assert caption["language"] == "ru"
    assert _cyrillic_share(caption["body"].decode()) > 0.95
    assert uploaded["snippet"]["defaultAudioLanguage"] == "ru"
    chapter_lines = uploaded["snippet"]["description"].split("\n\n", 1)[1].splitlines()
    assert len(chapter_lines) >= 3
    assert all(_cyrillic_share(line) > 0.9 for line in chapter_lines)
