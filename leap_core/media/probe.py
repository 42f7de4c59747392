"""What a media file holds, read with PyAV (there is no ffprobe in a pip-only install).

Every way a file can be unusable ends here as a MediaError that names the file's problem, so the
later stages can assume a file that probed is a real, complete recording.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.container

from leap_core.errors import MediaError

CONTAINER_SIGNATURES = (
    b"ftyp", b"\x1aE\xdf\xa3", b"RIFF", b"ID3", b"OggS", b"fLaC", b"FLV", b"\x00\x00\x01\xba",
)
"""Magic bytes of containers LEAP accepts: a file that starts like one but will not open was cut short."""

TAIL_SECONDS = 2.0


@dataclass(frozen=True)
class MediaInfo:
    """The facts trimming and transcription decide on; None where the file has no such stream."""

    duration_s: float
    size_bytes: int
    format_name: str
    has_video: bool
    has_audio: bool
    video_codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    video_index: int | None
    """Position of the video among the file's streams: ffmpeg's concat demuxer matches streams by position."""
    b_frames: bool
    """Frames stored out of display order: a smart cut's stream-copied bodies could not keep their timing."""
    audio_codec: str | None
    sample_rate: int | None
    channels: int | None
    audio_frame_size: int | None
    """Samples per audio packet (1024 for AAC): a stream copy can only cut audio at this granularity."""
    audio_tracks: int = 1
    """Audio streams in the file: OBS and some Zoom exports record desktop and microphone apart."""
    vfr: bool = False
    """Variable frame rate (phones, screen recorders): frames are not evenly spaced, so every cut keeps
    each frame's own timestamp rather than counting frames at `fps`, the average."""

    @property
    def frame_duration(self) -> float:
        """One video frame in seconds; audio-only files use 1/100 s, the granularity people notice."""
        return 1 / self.fps if self.fps else 0.01

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _looks_like_media(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(12)
    return any(sig in head for sig in CONTAINER_SIGNATURES)


def open_media(path: Path) -> av.container.InputContainer:
    """Open for reading, turning a missing, empty, foreign or cut-short file into a specific MediaError."""
    if not path.exists():
        raise MediaError(f"{path.name}: file not found")
    if not path.is_file():
        raise MediaError(f"{path.name}: not a file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path.name}: file is empty (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except (av.error.InvalidDataError, av.error.EOFError) as exc:
        if _looks_like_media(path):
            raise MediaError(f"{path.name}: file is truncated or corrupt ({exc.strerror})") from None
        raise MediaError(f"{path.name}: not a media file (no audio or video can be read from it)") from None
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path.name}: cannot be opened ({exc.strerror})") from None


def _duration(container: av.container.InputContainer) -> float:
    if container.duration is not None:
        return container.duration / av.time_base
    spans = [float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base]
    return max(spans, default=0.0)


def _check_complete(path: Path, container: av.container.InputContainer, duration: float) -> None:
    """An index can promise an hour the file no longer holds: read the last seconds to prove they exist."""
    stream = container.streams.audio[0] if container.streams.audio else container.streams.video[0]
    try:
        container.seek(int(max(duration - TAIL_SECONDS, 0) * av.time_base), any_frame=False)
        for packet in container.demux(stream):
            if packet.size:
                for _ in packet.decode():
                    return
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path.name}: file is truncated or corrupt ({exc.strerror})") from None
    raise MediaError(f"{path.name}: file is truncated or corrupt (its last seconds cannot be read)")


VFR_ENTRIES = 3000
"""Index entries read to tell a variable frame rate: two minutes at 25 fps, from the index alone."""


def _variable_rate(video: av.VideoStream) -> bool:
    """Whether frame durations vary: read from the index's decoding times (an MP4's `stts`, no packet
    data read); more than 1 % of steps off the usual one by over a tenth of it counts as variable."""
    entries = video.index_entries
    times = [entries[i].timestamp for i in range(min(len(entries), VFR_ENTRIES))]
    steps = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    if len(steps) < 10:
        return False
    usual = steps[len(steps) // 2]
    off = sum(1 for step in steps if abs(step - usual) > usual / 10)
    return off > len(steps) / 100


def probe(path: Path) -> MediaInfo:
    """Describe `path`, or raise MediaError saying why it is not a usable recording."""
    path = Path(path)
    with open_media(path) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = _duration(container)
        if duration <= 0:
            raise MediaError(f"{path.name}: media has zero duration")
        if video is None and audio is None:
            raise MediaError(f"{path.name}: holds no audio or video stream")
        _check_complete(path, container, duration)
        rate: Fraction | None = video.average_rate or video.guessed_rate if video else None
        return MediaInfo(
            duration_s=duration,
            size_bytes=path.stat().st_size,
            format_name=container.format.name,
            has_video=video is not None,
            has_audio=audio is not None,
            video_codec=video.codec_context.name if video else None,
            width=video.codec_context.width if video else None,
            height=video.codec_context.height if video else None,
            fps=float(rate) if rate else None,
            video_index=video.index if video else None,
            b_frames=bool(video.codec_context.has_b_frames) if video else False,
            audio_codec=audio.codec_context.name if audio else None,
            sample_rate=audio.codec_context.sample_rate if audio else None,
            channels=audio.codec_context.channels if audio else None,
            audio_frame_size=(audio.codec_context.frame_size or None) if audio else None,
            audio_tracks=len(container.streams.audio),
            vfr=_variable_rate(video) if video else False,
        )


class Keyframes:
    """Keyframe look-ups on one open file: a smart cut asks two per span, hundreds in pauses mode.

    Each look-up seeks the container's index and reads the packets around one instant, never the
    whole file. Every audio packet is a keyframe, so on audio this is where a stream copy can start.
    """

    def __init__(self, path: Path, kind: Literal["video", "audio"] = "video") -> None:
        self.path = path
        self._container = open_media(path)
        streams = self._container.streams
        self._stream = streams.video[0] if kind == "video" else streams.audio[0]
        self._base = self._stream.time_base or Fraction(1, av.time_base)

    def __enter__(self) -> Keyframes:
        return self

    def __exit__(self, *_: object) -> None:
        self._container.close()

    def _keyframes_from(self, seconds: float) -> Iterator[float]:
        """Keyframe times from the last keyframe at or before `seconds` (or the first one) onwards."""
        self._container.seek(int(max(seconds, 0) / self._base), stream=self._stream, backward=True)
        for packet in self._container.demux(self._stream):
            if packet.pts is not None and packet.is_keyframe:
                yield float(packet.pts * self._base)

    def at_or_after(self, seconds: float, tolerance: float) -> float | None:
        """The first keyframe at or after `seconds` (within `tolerance`), or None."""
        return next((at for at in self._keyframes_from(seconds - tolerance) if at >= seconds - tolerance), None)

    def at_or_before(self, seconds: float, tolerance: float) -> float | None:
        """The last keyframe at or before `seconds` (within `tolerance`), or None."""
        before = None
        for at in self._keyframes_from(seconds + tolerance):
            if at > seconds + tolerance:
                break
            before = at
        return before


def keyframe_at_or_after(
    path: Path, kind: Literal["video", "audio"], seconds: float, tolerance: float
) -> float | None:
    """The first keyframe of the `kind` stream at or after `seconds` (within `tolerance`), or None."""
    with Keyframes(path, kind) as keyframes:
        return keyframes.at_or_after(seconds, tolerance)
