"""Re-reading a trimmed file to prove the cut is what the cut list says: the `trimmed_video` check.

Trimming already aims for both properties; checking them on the stored file catches what aiming
cannot (a muxer that shifted a stream, a file replaced or damaged after the stage wrote it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from leap_core.errors import MediaError
from leap_core.media.probe import MediaInfo, open_media, probe
from leap_core.media.spans import Span, total


@dataclass(frozen=True)
class TrimCheck:
    """How the stored output compares with its cut list; `tolerance_s` (one frame) bounds both tests."""

    expected_duration: float
    duration: float
    tolerance_s: float
    video_start: float | None
    audio_start: float | None

    @property
    def duration_matches(self) -> bool:
        return abs(self.duration - self.expected_duration) <= self.tolerance_s

    @property
    def in_sync(self) -> bool:
        """Audio-only outputs have nothing to drift from, so they are in sync by definition."""
        if self.video_start is None or self.audio_start is None:
            return True
        return abs(self.video_start - self.audio_start) <= self.tolerance_s

    @property
    def passed(self) -> bool:
        return self.duration_matches and self.in_sync

    @property
    def av_offset(self) -> float | None:
        if self.video_start is None or self.audio_start is None:
            return None
        return self.audio_start - self.video_start

    def to_dict(self) -> dict[str, object]:
        offset = self.av_offset
        return {
            "expected_duration": round(self.expected_duration, 3),
            "duration": round(self.duration, 3),
            "duration_error_s": round(self.duration - self.expected_duration, 4),
            "av_offset_s": None if offset is None else round(offset, 4),
            "tolerance_s": round(self.tolerance_s, 4),
            "duration_matches": self.duration_matches,
            "in_sync": self.in_sync,
        }


def _first_frame_time(path: Path, kind: str) -> float | None:
    """When the first decoded frame of the `kind` stream is shown: decoding skips what an edit list hides
    (AAC encoder priming), which packet timestamps alone would count."""
    with open_media(path) as container:
        streams = container.streams.video if kind == "video" else container.streams.audio
        if not streams:
            return None
        try:
            for frame in container.decode(streams[0]):
                if isinstance(frame, av.VideoFrame | av.AudioFrame) and frame.time is not None:
                    return float(frame.time)
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path.name}: {kind} cannot be decoded ({exc.strerror})") from None
    return None


def _tolerance(info: MediaInfo) -> float:
    """One video frame; for audio-only output one audio packet at each end, the grain a copy cuts at."""
    if info.has_video or not info.audio_frame_size or not info.sample_rate:
        return info.frame_duration
    return 2 * info.audio_frame_size / info.sample_rate


def check_trimmed(path: Path, kept: list[Span]) -> TrimCheck:
    """Compare the file at `path` with the `kept` spans it was cut from."""
    info = probe(path)
    return TrimCheck(
        expected_duration=total(kept),
        duration=info.duration_s,
        tolerance_s=_tolerance(info),
        video_start=_first_frame_time(path, "video"),
        audio_start=_first_frame_time(path, "audio"),
    )
