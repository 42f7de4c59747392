"""Joining chunk results into one transcript whose timestamps never run backwards."""

from __future__ import annotations

from collections import Counter

from leap_core.speech.chunks import ChunkJob, ChunkResult
from leap_core.speech.transcript import Segment, Transcript


def place(job: ChunkJob, start: float, end: float) -> tuple[float, float]:
    """Chunk-relative times to recording time, kept inside the chunk so neighbours cannot overlap."""
    begin = min(max(job.start + start, job.start), job.end)
    return begin, min(max(job.start + end, begin), job.end)


def _monotonic(segments: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    floor = 0.0
    for segment in segments:
        start = max(segment.start, floor)
        end = max(segment.end, start)
        words = []
        for word in segment.words:
            w_start = min(max(word.start, start), end)
            words.append(word.model_copy(update={"start": w_start, "end": min(max(word.end, w_start), end)}))
        out.append(segment.model_copy(update={"start": start, "end": end, "words": words}))
        floor = end
    return out


def stitch(results: list[ChunkResult], *, duration: float, backend: str, model: str,
           language: str | None) -> Transcript:
    """The language is the one asked for, else the one most chunks heard (a quiet chunk may guess wrong)."""
    heard = Counter(r.language for r in results if r.segments and r.language)
    fallback = results[0].language if results else "und"
    chosen = language or (heard.most_common(1)[0][0] if heard else fallback)
    segments = _monotonic([s for r in results for s in r.segments if s.text.strip()])
    return Transcript(language=chosen, duration=duration, backend=backend, model=model, segments=segments)
