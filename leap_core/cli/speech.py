"""`leap transcribe` and `leap topics`: the speech stages on one file, outside the pipeline.

The backends and models come from the same settings the pipeline uses (LEAP_TRANSCRIBER,
LEAP_WHISPER_MODEL, LEAP_OPENAI_BASE_URL, ...), so what a user tries here is what the pipeline does.
An interrupted transcription resumes: finished chunks wait under LEAP_HOME until the file is done.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Literal

import pydantic
import typer

from leap_core.cli.output import JsonOption, emit, emit_json, progress_enabled, reported_errors
from leap_core.config import Settings, get_settings
from leap_core.errors import ValidationError
from leap_core.speech.languages import spoken_language
from leap_core.speech.subtitles import build_cues, write_srt, write_vtt
from leap_core.speech.topics import make_topic_extractor
from leap_core.speech.transcribers import Transcriber, make_transcriber
from leap_core.speech.transcript import Transcript, format_clock

Backend = Literal["local", "openai"]
BACKENDS: tuple[Backend, ...] = ("local", "openai")


def _backend(value: str | None, default: Backend, option: str) -> Backend:
    chosen = value or default
    for backend in BACKENDS:
        if chosen == backend:
            return backend
    raise typer.BadParameter("must be local or openai", param_hint=option)


def _transcriber(settings: Settings, backend: Backend, language: str) -> Transcriber:
    if backend == "local":
        return make_transcriber("local", model=settings.whisper_model, threads=settings.whisper_threads,
                                language=language, multilingual_model=settings.whisper_multilingual_model,
                                cache_dir=settings.whisper_model_cache)
    return make_transcriber("openai", model=settings.openai_transcribe_model, base_url=settings.openai_base_url,
                            language=language)


def _work_dir(settings: Settings, file: Path) -> Path:
    """One folder per input file, so running the same command again resumes that file's chunks."""
    digest = hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:16]
    return settings.resolved_home / "work" / f"transcribe-{digest}"


def _run(transcriber: Transcriber, file: Path, work_dir: Path, show_progress: bool) -> Transcript:
    if not show_progress:
        return transcriber.transcribe(file, work_dir=work_dir)
    with typer.progressbar(length=1000, label="transcribing") as bar:

        def update(fraction: float) -> None:
            bar.update(int(fraction * 1000) - bar.pos)

        return transcriber.transcribe(file, work_dir=work_dir, progress=update)


def _transcript_payload(transcript: Transcript) -> dict[str, object]:
    segments = [{"start": round(s.start, 3), "end": round(s.end, 3), "text": s.text} for s in transcript.segments]
    return {"language": transcript.language, "duration": round(transcript.duration, 3),
            "backend": transcript.backend, "model": transcript.model, "segments": segments}


def transcribe(
    file: Path = typer.Argument(..., help="Recording (video or audio) to transcribe."),
    backend: str | None = typer.Option(None, "--backend", help="local or openai (default: LEAP_TRANSCRIBER)."),
    srt_out: Path | None = typer.Option(None, "--srt", metavar="OUT", help="Also write SRT subtitles here."),
    vtt_out: Path | None = typer.Option(None, "--vtt", metavar="OUT", help="Also write WebVTT subtitles here."),
    language: str | None = typer.Option(None, "--language",
                                        help="A code (en, ru, ...) or auto (default: LEAP_WHISPER_LANGUAGE)."),
    as_json: bool = JsonOption,
) -> None:
    """Transcribe FILE and print its segments; optionally write subtitles."""
    settings = get_settings()
    chosen = _backend(backend, settings.transcriber, "--backend")
    with reported_errors():
        work_dir = _work_dir(settings, file)
        transcriber = _transcriber(settings, chosen, spoken_language(language or settings.whisper_language))
        transcript = _run(transcriber, file, work_dir, progress_enabled(as_json))
        shutil.rmtree(work_dir, ignore_errors=True)
        cues = build_cues(transcript)
        for out, write in ((srt_out, write_srt), (vtt_out, write_vtt)):
            if out is not None:
                write(cues, out)
    if as_json:
        emit_json(_transcript_payload(transcript))
        return
    for segment in transcript.segments:
        typer.echo(f"[{format_clock(segment.start)}] {segment.text}")
    typer.echo(f"-- {transcript.language}, {transcript.word_count} words, {len(cues)} subtitle cues, "
               f"{transcript.model}")


def _read_transcript(path: Path) -> Transcript:
    if not path.is_file():
        raise ValidationError(f"transcript not found: {path}")
    try:
        return Transcript.model_validate_json(path.read_bytes())
    except pydantic.ValidationError as exc:
        raise ValidationError(f"{path.name} is not a LEAP transcript.json ({exc.error_count()} problems)") from None


def topics(
    transcript_file: Path = typer.Argument(..., metavar="TRANSCRIPT.json", help="A transcript.json."),
    backend: str | None = typer.Option(None, "--backend", help="local or openai (default: LEAP_TOPICS_BACKEND)."),
    as_json: bool = JsonOption,
) -> None:
    """Summary, keywords and YouTube chapters for a transcript."""
    settings = get_settings()
    chosen = _backend(backend, settings.topics_backend, "--backend")
    with reported_errors():
        transcript = _read_transcript(transcript_file)
        extractor = make_topic_extractor(chosen, model=settings.openai_topics_model,
                                         base_url=settings.openai_base_url)
        found = extractor.extract(transcript)
    if as_json:
        emit_json(found.model_dump())
        return
    emit({"summary": found.summary, "keywords": ", ".join(found.keywords)}, as_json=False)
    typer.echo(found.chapters_text() or f"(no chapters: {found.chapters_note})")


def register(app: typer.Typer) -> None:
    app.command("transcribe")(transcribe)
    app.command("topics")(topics)
