"""The topic-extractor interface the `topics` stage depends on, and the one place a backend is chosen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from leap_core.errors import ValidationError
from leap_core.speech.chapters import validate_chapters
from leap_core.speech.local_topics import LocalTopicExtractor
from leap_core.speech.topic_models import Chapter, Topics
from leap_core.speech.transcript import Transcript

__all__ = [
    "Chapter",
    "LocalTopicExtractor",
    "TopicExtractor",
    "Topics",
    "make_topic_extractor",
    "validate_chapters",
]


class TopicExtractor(Protocol):
    def extract(self, transcript: Transcript, slides: Sequence[float] = ()) -> Topics:
        """Chapters returned already satisfy YouTube's rules, or are empty with the reason in the note.
        `slides`: slide-change times of the screen share; chapter starts snap to them (±15 s)."""
        ...


def make_topic_extractor(
    backend: Literal["local", "openai"],
    *,
    model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 120.0,
    max_retries: int = 4,
) -> TopicExtractor:
    if backend == "local":
        return LocalTopicExtractor()
    if backend == "openai":
        # Imported here so the `openai` SDK loads only for this backend (fast Dagster run-worker start-up).
        from leap_core.speech.openai_topics import OpenAITopicExtractor

        return OpenAITopicExtractor(api_key=api_key, base_url=base_url, model=model or "gpt-4o-mini",
                                    timeout=timeout, max_retries=max_retries)
    raise ValidationError(f"unknown topics backend {backend!r}: expected 'local' or 'openai'")
