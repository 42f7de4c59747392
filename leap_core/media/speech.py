"""Where people speak in a recording, found by Silero VAD (shipped inside faster-whisper).

A voice-activity model, unlike a dB threshold, ignores pink room noise and mains hum. Only the audio
stream is demuxed and decoded (video packets are skipped, never decoded), resampled to 16 kHz mono
and scored in fixed blocks, so memory stays flat however long the lecture is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from faster_whisper.vad import get_vad_model

from leap_core.errors import MediaError
from leap_core.media.probe import open_media

VAD_RATE = 16_000
WINDOW = 512
"""Silero scores 512-sample (32 ms) windows at 16 kHz."""
BLOCK = WINDOW * 10_000
"""Samples scored per model call (320 s): faster-whisper's own batch size, about 20 MB of float32."""

Span = tuple[float, float]


@dataclass(frozen=True)
class VadSettings:
    """How probabilities become speech spans; the defaults suit lecture rooms."""

    threshold: float = 0.5
    neg_threshold: float = 0.35
    hangover_s: float = 0.2
    """Speech only ends after this much low probability, so a plosive's gap does not split a word."""
    min_speech_s: float = 0.25


@dataclass(frozen=True)
class SpeechAnalysis:
    spans: list[Span]
    analysed_s: float

    @property
    def speech_seconds(self) -> float:
        return sum(end - start for start, end in self.spans)


def _blocks(path: Path, on_time: Callable[[float], None]) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (time of first sample, mono 16 kHz float32 block) pairs from the audio stream only."""
    with open_media(path) as container:
        if not container.streams.audio:
            raise MediaError(f"{path.name}: has no audio stream, so speech cannot be detected")
        stream = container.streams.audio[0]
        origin = container.start_time / av.time_base if container.start_time else 0.0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=VAD_RATE)
        pending: list[np.ndarray] = []
        held = 0
        block_start: float | None = None
        try:
            for frame in container.decode(stream):
                if block_start is None:
                    block_start = (frame.time or 0.0) - origin
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray()[0])
                    held += out.samples
                while held >= BLOCK:
                    data = np.concatenate(pending)
                    yield block_start, data[:BLOCK]
                    pending, held = [data[BLOCK:]], held - BLOCK
                    block_start += BLOCK / VAD_RATE
                if frame.time is not None:
                    on_time(frame.time - origin)
            for out in resampler.resample(None):
                pending.append(out.to_ndarray()[0])
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path.name}: audio cannot be decoded ({exc.strerror})") from None
        if pending and block_start is not None:
            yield block_start, np.concatenate(pending)


def _probabilities(block: np.ndarray) -> np.ndarray:
    padded = np.pad(block, (0, -len(block) % WINDOW))
    return np.asarray(get_vad_model()(padded), dtype=np.float32).reshape(-1)


def _spans(starts: list[float], probs: list[np.ndarray], settings: VadSettings) -> list[Span]:
    """Hysteresis over window probabilities: speech starts at `threshold` and ends after `hangover_s`
    below `neg_threshold`."""
    step = WINDOW / VAD_RATE
    hangover = max(1, round(settings.hangover_s / step))
    spans: list[Span] = []
    opened: float | None = None
    quiet_since: float | None = None
    quiet = 0
    for start, block in zip(starts, probs, strict=True):
        for index, prob in enumerate(block):
            at = start + index * step
            if opened is None:
                if prob >= settings.threshold:
                    opened, quiet = at, 0
                continue
            if prob >= settings.neg_threshold:
                quiet = 0
                continue
            if quiet == 0:
                quiet_since = at
            quiet += 1
            if quiet >= hangover and quiet_since is not None:
                spans.append((opened, quiet_since))
                opened = None
    if opened is not None:
        end = starts[-1] + len(probs[-1]) * step
        spans.append((opened, quiet_since if quiet and quiet_since is not None else end))
    return [(s, e) for s, e in spans if e - s >= settings.min_speech_s]


def detect_speech(
    path: Path,
    duration_s: float,
    settings: VadSettings = VadSettings(),
    progress: Callable[[float], None] | None = None,
) -> SpeechAnalysis:
    """Speech spans in seconds from the start of the file; `progress` gets the fraction analysed."""

    def on_time(seconds: float) -> None:
        if progress is not None:
            progress(min(seconds / duration_s, 1.0))

    starts: list[float] = []
    probs: list[np.ndarray] = []
    analysed = 0.0
    for start, block in _blocks(path, on_time):
        starts.append(start)
        probs.append(_probabilities(block))
        analysed = start + len(block) / VAD_RATE
    if not probs:
        return SpeechAnalysis(spans=[], analysed_s=0.0)
    return SpeechAnalysis(spans=_spans(starts, probs, settings), analysed_s=analysed)
