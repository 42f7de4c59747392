"""OpenAI's transcription API, sized for two-hour lectures and crash-safe.

The API takes at most 25 MiB per request, so the recording is re-encoded as small mono MP3 and cut at
silences into chunks under both a byte and a duration limit (ten minutes: a failure then costs little,
and Whisper's quality does not depend on longer context). Each chunk's times are shifted by its offset
and the end of the previous chunk's text is sent as `prompt`, so spelling and style carry over the seam.
`whisper-1` with `verbose_json` is the default because it returns segment (and word) timestamps; the
gpt-4o transcribe models return plain text, which becomes one segment per chunk.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import openai
from openai import omit
from openai.types.audio import TranscriptionVerbose

from leap_core.errors import StageError
from leap_core.speech.audio import UPLOAD_BITRATE_KBPS, encode_upload, envelope
from leap_core.speech.chunks import ChunkJob, ChunkResult, ChunkStore, fingerprint, plan_spans, run_chunks
from leap_core.speech.hallucinations import is_hallucination
from leap_core.speech.languages import language_code
from leap_core.speech.openai_client import make_client, stage_error
from leap_core.speech.stitching import place, stitch
from leap_core.speech.transcript import Segment, Transcript, Word

MAX_REQUEST_BYTES = 24 * 1024 * 1024
"""A mebibyte under OpenAI's 25 MiB limit, leaving room for the multipart envelope and form fields."""
MAX_CHUNK_SECONDS = 600.0
BYTES_HEADROOM = 0.9
"""MP3 at a constant bitrate still varies a little (frame padding, the header); plan 10% under the limit."""


class OpenAITranscriber:
    def __init__(self, api_key: str | None = None, base_url: str | None = None, model: str = "whisper-1",
                 language: str | None = None, timeout: float = 300.0, max_retries: int = 4,
                 max_chunk_bytes: int = MAX_REQUEST_BYTES,
                 max_chunk_seconds: float = MAX_CHUNK_SECONDS) -> None:
        self._api_key = api_key
        self.base_url = base_url
        self.model = model
        self.language = language
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_chunk_bytes = max_chunk_bytes
        self.max_chunk_seconds = max_chunk_seconds

    def __repr__(self) -> str:
        return f"OpenAITranscriber(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def timestamped(self) -> bool:
        return self.model.startswith("whisper")

    @property
    def chunk_seconds(self) -> float:
        by_size = self.max_chunk_bytes * BYTES_HEADROOM / (UPLOAD_BITRATE_KBPS * 1000 / 8)
        return min(self.max_chunk_seconds, by_size)

    def warm(self) -> None:
        """Nothing to load: the model runs at OpenAI."""

    def transcribe(self, audio: Path, *, work_dir: Path,
                   progress: Callable[[float], None] | None = None) -> Transcript:
        env = envelope(audio)
        client = make_client(self._api_key, self.base_url, self.timeout, self.max_retries, "transcribe")
        settings = json.dumps([self.model, self.language, self.chunk_seconds, UPLOAD_BITRATE_KBPS])
        store = ChunkStore(work_dir)
        plan = store.plan(fingerprint(audio, settings), lambda: plan_spans(env, self.chunk_seconds))
        count = len(plan.spans)

        def one(job: ChunkJob) -> ChunkResult:
            return self._chunk(client, audio, work_dir, job, count)

        results = run_chunks(plan, store, one, progress)
        return stitch(results, duration=env.duration, backend="openai", model=self.model,
                      language=self.language)

    def _chunk(self, client: openai.OpenAI, audio: Path, work_dir: Path, job: ChunkJob,
               count: int) -> ChunkResult:
        what = f"chunk {job.index + 1} of {count}"
        upload = encode_upload(audio, job.start, job.end - job.start,
                               work_dir / f"upload-{job.index:04d}.mp3")
        size = upload.stat().st_size
        if size >= self.max_chunk_bytes:
            limit = self.max_chunk_bytes
            raise StageError("transcribe", f"{what} encodes to {size} bytes, over the {limit}-byte "
                                           "request limit: lower the chunk duration")
        try:
            result = self._send(client, upload, job)
        except openai.OpenAIError as exc:
            raise stage_error("transcribe", exc, what, self._api_key) from None
        upload.unlink(missing_ok=True)
        return result

    def _send(self, client: openai.OpenAI, upload: Path, job: ChunkJob) -> ChunkResult:
        prompt = job.prompt or omit
        language = self.language or omit
        with upload.open("rb") as fh:
            if self.timestamped:
                verbose = client.audio.transcriptions.create(
                    file=fh, model=self.model, response_format="verbose_json",
                    timestamp_granularities=["segment", "word"], prompt=prompt, language=language)
                return self._verbose(verbose, job)
            plain = client.audio.transcriptions.create(
                file=fh, model=self.model, response_format="json", prompt=prompt, language=language)
        text = plain.text.strip()
        segments = [Segment(start=job.start, end=job.end, text=text)] if text else []
        return ChunkResult(language=self.language or "und", segments=segments)

    def _verbose(self, response: TranscriptionVerbose, job: ChunkJob) -> ChunkResult:
        words = [(w.start, w.end, w.word.strip()) for w in response.words or [] if w.word.strip()]
        segments = []
        for seg in response.segments or []:
            if is_hallucination(seg.no_speech_prob, seg.avg_logprob, seg.compression_ratio):
                continue
            start, end = place(job, seg.start, seg.end)
            inside = [Word(start=ws, end=we, text=text) for s, e, text in words
                      if seg.start <= (s + e) / 2 <= seg.end for ws, we in [place(job, s, e)]]
            segments.append(Segment(start=start, end=end, text=seg.text.strip(), words=inside,
                                    confidence=round(math.exp(seg.avg_logprob), 3)))
        return ChunkResult(language=language_code(response.language), segments=segments)
