"""Long recordings in chunks: cut at silences, persist each chunk's result, resume where a crash stopped.

A chunk's result is written (atomically) the moment it is known, under `work_dir`, next to a plan that
records which source and settings it belongs to. A retry with the same source and settings reuses every
finished chunk and starts at the first unfinished one; anything else starts over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from leap_core.disk import write_text_atomic
from leap_core.speech.audio import HOP_SECONDS, Envelope
from leap_core.speech.transcript import Segment

PROMPT_CHARS = 200
"""Whisper reads at most 224 prompt tokens; ~200 characters of the previous chunk's end carry its vocabulary
and punctuation style across the cut without crowding out the chunk's own context."""


@dataclass(frozen=True)
class ChunkJob:
    index: int
    start: float
    end: float
    prompt: str | None


class ChunkResult(BaseModel):
    """One chunk's segments, already shifted to recording time."""

    language: str
    segments: list[Segment]


class ChunkPlan(BaseModel):
    fingerprint: str
    spans: list[tuple[float, float]]


def plan_spans(env: Envelope, max_seconds: float) -> list[tuple[float, float]]:
    """Cut before each `max_seconds` at the quietest half second of the preceding stretch.

    The search looks back over half a chunk (at most a minute): far enough to find a pause between
    sentences in real speech, near enough that chunks stay close to the limit.
    """
    if max_seconds <= 0:
        raise ValueError("max_seconds must be positive")
    smooth = max(1, round(0.5 / HOP_SECONDS))
    levels = env.levels_db
    if len(levels):
        levels = np.convolve(levels, np.ones(smooth) / smooth, mode="same")
    search = min(60.0, max_seconds / 2)
    spans: list[tuple[float, float]] = []
    start = 0.0
    while env.duration - start > max_seconds:
        lo = int((start + max_seconds - search) / HOP_SECONDS)
        hi = max(lo + 1, int((start + max_seconds) / HOP_SECONDS))
        window = levels[lo:hi]
        cut = (lo + int(np.argmin(window)) + 0.5) * HOP_SECONDS if len(window) else start + max_seconds
        cut = min(max(cut, start + HOP_SECONDS), start + max_seconds)
        spans.append((start, cut))
        start = cut
    spans.append((start, env.duration))
    return spans


def fingerprint(audio: Path, settings: str) -> str:
    """Same file (size and modification time) and same settings: only then are stored chunks still valid."""
    stat = audio.stat()
    raw = f"{audio.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{settings}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class ChunkStore:
    """The plan and finished chunk results of one transcription, on disk under `work_dir`."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.plan_path = work_dir / "chunks.json"

    def _result_path(self, index: int) -> Path:
        return self.work_dir / f"chunk-{index:04d}.json"

    def plan(self, fingerprint: str, make_spans: Callable[[], list[tuple[float, float]]]) -> ChunkPlan:
        """The stored plan if it is for this source and settings; otherwise a fresh one (old results go)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if self.plan_path.exists():
            stored = ChunkPlan.model_validate_json(self.plan_path.read_text(encoding="utf-8"))
            if stored.fingerprint == fingerprint:
                return stored
        for stale in self.work_dir.glob("chunk-*.json"):
            stale.unlink()
        plan = ChunkPlan(fingerprint=fingerprint, spans=make_spans())
        write_text_atomic(self.plan_path, plan.model_dump_json())
        return plan

    def load(self, index: int) -> ChunkResult | None:
        path = self._result_path(index)
        return ChunkResult.model_validate_json(path.read_text(encoding="utf-8")) if path.exists() else None

    def save(self, index: int, result: ChunkResult) -> None:
        write_text_atomic(self._result_path(index), result.model_dump_json())


def _prompt_from(result: ChunkResult | None) -> str | None:
    if result is None:
        return None
    text = " ".join(s.text.strip() for s in result.segments).strip()
    return text[-PROMPT_CHARS:] or None


def run_chunks(
    plan: ChunkPlan,
    store: ChunkStore,
    transcribe_chunk: Callable[[ChunkJob], ChunkResult],
    progress: Callable[[float], None] | None = None,
) -> list[ChunkResult]:
    """Transcribe each unfinished chunk in order, saving it before moving on, so a failure loses one chunk."""
    total = plan.spans[-1][1] if plan.spans else 0.0
    results: list[ChunkResult] = []
    previous: ChunkResult | None = None
    for index, (start, end) in enumerate(plan.spans):
        result = store.load(index)
        if result is None:
            result = transcribe_chunk(ChunkJob(index, start, end, _prompt_from(previous)))
            store.save(index, result)
        results.append(result)
        previous = result
        if progress is not None and total > 0:
            progress(min(1.0, end / total))
    return results
