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

PCM_FORMAT = "f32le"
"""What `kept_pcm` yields: interleaved 32-bit float, as ffmpeg's raw input format names it."""


def layout_for(channels: int | None) -> str:
    """Lecture audio is speech: anything beyond two channels is folded into stereo."""
    return "mono" if (channels or 1) == 1 else "stereo"


def _ranges(spans: list[Span], rate: int) -> list[tuple[int, int]]:
    return [(round(start * rate), round(end * rate)) for start, end in spans]


def kept_pcm(path: Path, spans: list[Span], rate: int, channels: int | None) -> Iterator[bytes]:
    """Interleaved float samples of `spans` (seconds from the start of the file), in order."""
    ranges = _ranges(spans, rate)
    width = 1 if layout_for(channels) == "mono" else 2
    with open_media(path) as container:
        stream = container.streams.audio[0]
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
                        yield np.ascontiguousarray(piece).tobytes()
                if current >= len(ranges):
                    return
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path.name}: audio cannot be decoded ({exc.strerror})") from None
