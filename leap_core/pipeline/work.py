"""The work of each processing stage, as `StageInput -> StageOutput` functions the runner wraps.

Each stage that writes checks its filesystem first and reports a disk that fills anyway as
`DiskFullError` (`leap_core.disk.writing`), with what it expects to write: download the listed size,
trim about the source's size, transcription a bounded allowance for its JSON and upload chunks, topics
and subtitles about the transcript's size. The estimate is a floor, not a promise: the margin
(LEAP_DISK_MARGIN_MB) covers its error, and ENOSPC met mid-write still ends as the same one-line error.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Literal

from leap_core import disk
from leap_core.config import Settings
from leap_core.errors import StageError
from leap_core.pipeline.runner import StageInput, StageOutput, file_metadata
from leap_core.review import ReviewPolicy, hold_reason
from leap_core.sources.base import SourceClient, SourceFile
from leap_core.speech.gate import GateResult, apply_gate, write_speech
from leap_core.speech.glossary import Glossary
from leap_core.speech.glossary_hints import decode_with_hints
from leap_core.speech.glossary_match import apply_glossary
from leap_core.speech.slide_images import SLIDES_ALLOWANCE, keep_slides, screen_slide_changes
from leap_core.speech.subtitles import build_cues, write_srt, write_vtt
from leap_core.speech.topics import TopicExtractor, make_topic_extractor
from leap_core.speech.transcribers import Transcriber, make_transcriber
from leap_core.speech.transcript import Transcript

TRANSCRIBE_ALLOWANCE = 32 << 20
"""What transcription may write: transcript and chunk JSON (a few MB for hours of speech) plus one
OpenAI upload chunk (under 25 MB) at a time."""
STORAGE = "storage"


def source_file(stage_input: StageInput) -> SourceFile:
    """The recording's file as its source listed it: what downloading and source clean-up address."""
    return SourceFile(
        file_id=stage_input.source_file_id, name=stage_input.source_name, size=stage_input.source_size,
        recorded_at=stage_input.recorded_at, extension=stage_input.files.extension, extra=stage_input.source_extra,
    )


def download(stage_input: StageInput, client: SourceClient) -> StageOutput:
    files = stage_input.files
    file = source_file(stage_input)
    with disk.writing("download", files.root, file.size or 0, stage_input.settings, STORAGE):
        written = client.download(file, files.source)
    from leap_core.media.probe import probe  # deferred with PyAV: keeps Dagster run-worker start-up fast

    info = probe(files.source)
    return StageOutput({**file_metadata(files.source), "bytes": written, "media": info.to_dict()},
                       duration_s=info.duration_s)


def trim_silence(stage_input: StageInput) -> StageOutput:
    # Deferred: the media stack (PyAV, NumPy, the VAD model) would slow every Dagster run worker's start-up.
    from leap_core.media.trim import TrimConfig, trim

    files = stage_input.files
    config = TrimConfig.model_validate(stage_input.template.get("trim") or {})
    source_bytes = files.source.stat().st_size if files.source.exists() else 0
    with disk.writing("trim", files.root, source_bytes, stage_input.settings, STORAGE):
        result = trim(files.source, files.trimmed, config)
    metadata = result.to_dict()
    if result.status == "blank" and stage_input.template.get("exclude_blank", True):
        tracks = f"; {result.audio.reason}" if len(result.audio.speech_s) > 1 else ""
        return StageOutput(metadata, skip_reason="blank", skip_detail=f"{result.method_reason}{tracks}")
    assert result.output_path is not None, "trim returned ok without an output"
    return StageOutput({**metadata, **file_metadata(result.output_path)})


def _transcriber(settings: Settings, language: str, glossary: Glossary | None = None) -> Transcriber:
    """A template with a glossary gets `glossary_model` for English when the hints are on (ADR 0039)."""
    model = settings.whisper_model
    if glossary and settings.glossary_hints and settings.transcriber == "local":
        model = settings.glossary_model
    return _cached_transcriber(settings.transcriber, model, settings.whisper_threads,
                               settings.openai_base_url, language, settings.whisper_multilingual_model,
                               settings.whisper_model_cache)


@cache
def _cached_transcriber(backend: Literal["local", "openai"], model: str | None, threads: int,
                        base_url: str | None, language: str, multilingual_model: str,
                        cache_dir: Path | None) -> Transcriber:
    """One model per process and language: loading Whisper costs more than transcribing a short lecture."""
    return make_transcriber(backend, model=model, threads=threads, base_url=base_url, language=language,
                            multilingual_model=multilingual_model, cache_dir=cache_dir)


def warm_transcriber(settings: Settings) -> None:
    """Load the transcriber this process's `transcribe` stage will use: a run calls it in a background thread
    while download and trim go on, so the `transcription` pool's one slot is spent transcribing."""
    _transcriber(settings, settings.whisper_language).warm()


def stage_language(stage_input: StageInput) -> str:
    """The template's `language` (a code or `auto`) if it sets one, else the deployment's setting."""
    return str(stage_input.template.get("language") or stage_input.settings.whisper_language)


def transcribe(stage_input: StageInput) -> StageOutput:
    files = stage_input.files
    settings = stage_input.settings
    terms = Glossary.model_validate(stage_input.template.get("glossary") or {})
    transcriber = _transcriber(settings, stage_language(stage_input), terms)
    with disk.writing("transcribe", files.root, TRANSCRIBE_ALLOWANCE, settings, STORAGE):
        media = trimmed_media(stage_input)
        heard, hints = decode_with_hints(transcriber, media, files.transcript_work,
                                         terms if settings.glossary_hints else Glossary())
        gate = _integrity_gate(heard, media, transcriber, files.transcript_work, files.speech)
        transcript = gate.transcript
        if not transcript.segments:
            raise StageError("transcribe", "no speech was recognised in the trimmed recording")
        if not gate.report.passed:
            raise StageError("transcribe", f"integrity gate failed after repair: {gate.report.reason()}")
        transcript, glossary = apply_glossary(transcript, terms)
        transcript = transcript.model_copy(update={"repaired": gate.repaired})
        disk.write_text_atomic(files.transcript, transcript.model_dump_json(indent=2))
    return StageOutput({
        "integrity": gate.metadata(), "coverage_pct": round(gate.report.coverage_pct, 2),
        "dropped_cues": len(gate.report.dropped), "repaired_spans": len(gate.repaired),
        **file_metadata(files.transcript), "language": transcript.language,
        "language_probability": transcript.language_probability or 0.0, "segments": len(transcript.segments),
        "words": transcript.word_count, "backend": transcript.backend, "model": transcript.model,
        "media_duration_s": round(transcript.duration, 2), "preview_md": transcript.preview_markdown(),
        **glossary.metadata(), **(hints.metadata() if hints else {}),
    })


@cache
def _extractor(backend: Literal["local", "openai"], model: str, base_url: str | None) -> TopicExtractor:
    return make_topic_extractor(backend, model=model, base_url=base_url)


def topics(stage_input: StageInput) -> StageOutput:
    files = stage_input.files
    transcript = Transcript.model_validate_json(files.transcript.read_text())
    settings = stage_input.settings
    extractor = _extractor(settings.topics_backend, settings.openai_topics_model, settings.openai_base_url)
    with disk.writing("topics", files.root, files.transcript.stat().st_size + SLIDES_ALLOWANCE, settings, STORAGE):
        changes = screen_slide_changes(stage_input)
        extracted = extractor.extract(transcript, slides=changes)
        extracted = keep_slides(extracted, changes, trimmed_media(stage_input), files.root / "slides")
        disk.write_text_atomic(files.topics, extracted.model_dump_json(indent=2))
    return StageOutput({
        **file_metadata(files.topics), "chapters": len(extracted.chapters), "slide_changes": len(changes),
        "thumbnail": extracted.thumbnail or "",
        "chapters_md": extracted.chapters_markdown() or "(no chapters)",
        "keywords": ", ".join(extracted.keywords[:10]), "chapters_note": extracted.chapters_note or "",
    })


def subtitles(stage_input: StageInput) -> StageOutput:
    files = stage_input.files
    transcript = Transcript.model_validate_json(files.transcript.read_text())
    cues = build_cues(transcript)
    with disk.writing("subtitles", files.root, 2 * files.transcript.stat().st_size, stage_input.settings, STORAGE):
        write_srt(cues, files.srt)
        write_vtt(cues, files.vtt)
    policy = ReviewPolicy.model_validate(stage_input.template.get("review") or {})
    held = hold_reason(transcript, policy)
    return StageOutput({"srt": str(files.srt), "vtt": str(files.vtt), "cues": len(cues),
                        "review": held or ("off" if policy.mode == "off" else "passed")}, hold_reason=held)


def _integrity_gate(heard: Transcript, media: Path, transcriber: Transcriber, work_dir: Path,
                    speech_file: Path) -> GateResult:
    """VAD on the file the transcriber heard (the trimmed timeline), stored, then the gate with its repair."""
    from leap_core.media.speech import detect_speech  # deferred with PyAV and the VAD model

    speech = detect_speech(media, heard.duration).spans
    write_speech(speech_file, speech)
    return apply_gate(heard, speech, media=media, transcriber=transcriber, work_dir=work_dir)


def trimmed_media(stage_input: StageInput) -> Path:
    """The trim stage's output: trimmed.mp4 for video, or the audio container it chose for audio-only input."""
    files = stage_input.files
    if files.trimmed.exists():
        return files.trimmed
    candidates = sorted(files.root.glob("trimmed.*"))
    if not candidates:
        raise StageError("transcribe", "the trimmed recording is missing; retry from the trim stage")
    return candidates[0]


def read_json(path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data
