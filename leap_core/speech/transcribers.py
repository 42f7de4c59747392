"""The transcriber interface the `transcript` stage depends on, and the one place a backend is chosen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from leap_core.errors import ValidationError
from leap_core.speech.transcript import Transcript

__all__ = ["HintableTranscriber", "Transcriber", "make_transcriber"]


class Transcriber(Protocol):
    def warm(self) -> None:
        """Get ready to transcribe (load a model) ahead of the stage, so the stage's pool slot is not spent on it."""
        ...

    def transcribe(self, audio: Path, *, work_dir: Path,
                   progress: Callable[[float], None] | None = None) -> Transcript:
        """`work_dir` keeps finished chunks, so calling again after a crash resumes instead of restarting."""
        ...


@runtime_checkable
class HintableTranscriber(Transcriber, Protocol):
    def hinted(self, hotwords: str) -> Transcriber:
        """The same backend and model decoding with `hotwords` as a hint (faster-whisper's `hotwords`)."""
        ...


def make_transcriber(
    backend: Literal["local", "openai"],
    *,
    model: str | Path | None = None,
    threads: int = 0,
    language: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 300.0,
    max_retries: int = 4,
    multilingual_model: str = "base",
    cache_dir: Path | None = None,
) -> Transcriber:
    """`model=None` is each backend's default: the bundled tiny.en locally, `whisper-1` on OpenAI."""
    # Backends imported in their branch: faster-whisper and `openai` are heavy (keeps run-worker start-up fast).
    if backend == "local":
        from leap_core.speech.local_whisper import LocalWhisperTranscriber

        return LocalWhisperTranscriber(model=model, threads=threads, language=language,
                                       multilingual_model=multilingual_model, cache_dir=cache_dir)
    if backend == "openai":
        from leap_core.speech.openai_whisper import OpenAITranscriber

        return OpenAITranscriber(api_key=api_key, base_url=base_url, model=str(model or "whisper-1"),
                                 language=None if language == "auto" else language, timeout=timeout,
                                 max_retries=max_retries)
    raise ValidationError(f"unknown transcription backend {backend!r}: expected 'local' or 'openai'")
