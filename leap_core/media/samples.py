"""The kept spans of a recording's audio as PCM, exact to the sample, streamed for an encoder to take.

ffmpeg's `aselect` would do this in one filter, but its expression parser gives up past about a
hundred spans, and an hour of pauses mode has several hundred; slicing decoded frames here has no
such limit and no drift however many cuts there are.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from leap_core.errors import MediaError
from leap_core.media.probe import open_media
from leap_core.media.spans import Span

CHUNK_SAMPLES = 1 << 16
"""Samples mixed at a time when several tracks are summed."""
PCM_FORMAT = "f32le"
"""What `kept_pcm` yields: interleaved 32-bit float, as ffmpeg's raw input format names it."""


def layout_for(channels: int | None) -> str:
    """Lecture audio is speech: anything beyond two channels is folded into stereo."""
    return "mono" if (channels or 1) == 1 else "stereo"


def _ranges(spans: list[Span], rate: int) -> list[tuple[int, int]]:
    return [(round(start * rate), round(end * rate)) for start, end in spans]


def _faded(piece: np.ndarray, offset: int, length: int, fade: int) -> np.ndarray:
    """`piece`, which starts `offset` samples into a span of `length`, with a linear fade over the span's first
    and last `fade` samples: where two spans meet the waveform then goes to zero and back instead of jumping
    (a click). Pieces clear of both ends are returned as they are."""
    fade = min(fade, length // 2)
    if fade <= 0 or fade <= offset <= length - fade - len(piece):
        return piece
    at = np.arange(offset, offset + len(piece), dtype=np.float32) + 0.5
    ramp = np.minimum(np.minimum(at / fade, (length - at) / fade), 1.0)
    return (piece * ramp[:, None]).astype(np.float32, copy=False)


def kept_pcm(
    path: Path, spans: list[Span], rate: int, channels: int | None, track: int = 0, fade_s: float = 0.0
) -> Iterator[bytes]:
    """Interleaved float samples of `spans` (seconds from the start of the file) of audio `track`, in order,
    each span faded in and out over `fade_s`."""
    ranges = _ranges(spans, rate)
    fade = round(fade_s * rate)
    width = 1 if layout_for(channels) == "mono" else 2
    with open_media(path) as container:
        stream = container.streams.audio[track]
        origin = container.start_time / av.time_base if container.start_time else 0.0
        resampler = av.AudioResampler(format="flt", layout=layout_for(channels), rate=rate)
        position: int | None = None
        current = 0
        try:
            for frame in container.decode(stream):
                if position is None:
                    position = round(((frame.time or 0.0) - origin) * rate)
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1, width)
                    first, position = position, position + len(samples)
                    while current < len(ranges) and ranges[current][1] <= first:
                        current += 1
                    for start, end in ranges[current:]:
                        if start >= position:
                            break
                        piece = samples[max(start - first, 0):min(end, position) - first]
                        piece = _faded(piece, max(first - start, 0), end - start, fade)
                        yield np.ascontiguousarray(piece).tobytes()
                if current >= len(ranges):
                    return
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path.name}: audio cannot be decoded ({exc.strerror})") from None


def mixed_pcm(
    path: Path, spans: list[Span], rate: int, channels: int | None, tracks: list[int], fade_s: float = 0.0
) -> Iterator[bytes]:
    """The kept samples of several tracks summed (as `amix` with normalize=0: a microphone and a desktop
    track each keep their level), clipped to full scale. One track is passed through untouched."""
    if len(tracks) == 1:
        yield from kept_pcm(path, spans, rate, channels, tracks[0], fade_s)
        return
    sources = [kept_pcm(path, spans, rate, channels, track, fade_s) for track in tracks]
    held = [np.empty(0, dtype=np.float32) for _ in tracks]
    done = [False for _ in tracks]
    while True:
        for index, source in enumerate(sources):
            while not done[index] and len(held[index]) < CHUNK_SAMPLES:
                chunk = next(source, None)
                if chunk is None:
                    done[index] = True
                else:
                    held[index] = np.concatenate([held[index], np.frombuffer(chunk, dtype=np.float32)])
        live = [len(part) for index, part in enumerate(held) if not done[index]]
        size = min(live) if live else max(len(part) for part in held)
        if size == 0:
            return
        mix = np.zeros(size, dtype=np.float32)
        for index, part in enumerate(held):
            mix[:min(len(part), size)] += part[:size]
            held[index] = part[size:]
        yield np.clip(mix, -1.0, 1.0).tobytes()
