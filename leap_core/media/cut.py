"""Writing the kept spans of a recording: stream copy, smart cut, or a full re-encode.

Smart cut: for each kept span, only the frames from the cut to the next keyframe are re-encoded (a
small MP4 "head"); the rest of the span is read straight from the source. Every head comes out of one
pass of one decoder over the source, in order (pauses mode makes hundreds of heads: an ffmpeg start,
seek and GOP decode per head cost more than the frames themselves). One ffmpeg run joins heads
and source spans through the concat demuxer, which reads each source span by in/out point (no
intermediate copy of the video) and re-inserts each piece's own parameter sets in-band, so the
re-encoded heads and the copied bodies each decode with their own. Every cut sits on the frame grid
(see `spans.on_frame_grid`) and every piece declares its exact duration, so the audio cut at the same
instants stays in sync however many spans there are.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import ffmpeg

from leap_core.errors import MediaError
from leap_core.media import ffmpeg as ff
from leap_core.media import samples
from leap_core.media.ffmpeg import Progress
from leap_core.media.probe import Keyframes, MediaInfo, open_media
from leap_core.media.spans import Span

SMART_CUT_CODECS = frozenset({"h264"})
"""Raw Annex B concatenation is what makes the smart cut exact; it is implemented for H.264 only."""
MP4_VIDEO_CODECS = frozenset({"h264", "hevc", "av1", "mpeg4", "vp9"})
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"})
VIDEO_ENCODER = {"preset": "veryfast", "crf": "18"}
HEAD_ENCODER = {"preset": "ultrafast", "crf": "16", "bf": "0"}
"""Heads are at most one GOP per cut, but pauses mode makes hundreds: ultrafast is three times quicker
than veryfast, and a lower CRF buys back its quality. No B-frames: a head's last frame is its last."""
ENCODE_WORKERS = 2
"""Pauses mode makes a head per cut; one decoder's frame threads left the second core partly idle, two
decoders over two halves of the cut list keep both busy (heads of a 64-minute lecture: 37 s -> see
bench/README.md)."""
AUDIO_ENCODER = {"acodec": "aac", "aac_coder": "fast", "audio_bitrate": "128k"}
"""The default AAC coder takes 3 s per 4 minutes of mono 16 kHz; `fast` halves that, audibly the same."""


def copy_audio(src: Path, info: MediaInfo, span: Span, out: Path) -> None:
    """Copy one span of audio packets: from the first packet at or after the cut to the last that ends
    before the span does.

    The copied packets keep their offset from the cut (under one packet), so muxed against video that
    starts exactly at the cut they stay in sync instead of being pulled early; stopping a packet short
    keeps the audio from outlasting the video.
    """
    start, end = span
    packet = (info.audio_frame_size or 0) / (info.sample_rate or 48_000)
    stream = ffmpeg.input(str(src), ss=f"{start:.6f}")["a:0"]
    ff.run(stream.output(str(out), t=f"{end - start - packet:.6f}", acodec="copy", copypriorss=0, f="mp4"),
           f"copying the audio of {src.name}")


def encode_audio(src: Path, info: MediaInfo, spans: list[Span], out: Path) -> None:
    """Re-encode the kept spans of the audio to AAC, cut to the sample (no drift across many cuts)."""
    rate = info.sample_rate or 48_000
    channels = 1 if samples.layout_for(info.channels) == "mono" else 2
    pcm = ffmpeg.input("pipe:", f=samples.PCM_FORMAT, ar=rate, ac=channels)
    ff.run_fed(pcm.output(str(out), f="mp4", **AUDIO_ENCODER), samples.kept_pcm(src, spans, rate, info.channels),
               f"re-encoding the audio of {src.name}")


@dataclass(frozen=True)
class Piece:
    """One entry of the concat list: a whole head file, or a span of the source between keyframe and end."""

    path: Path
    duration: float
    inpoint: float | None = None


@dataclass(frozen=True)
class Encode:
    """Frames of the source from `start` to `end` (on the frame grid), to be encoded into `out`."""

    start: float
    end: float
    out: Path
    keyframe_before: float | None = None
    """Where decoding must begin to reach `start` (None: unknown, seek to be sure)."""


class _Frames:
    """The source's video frames in display order, decoded once: seeking only to skip ahead, never to go
    back over frames already decoded."""

    def __init__(self, container: av.container.InputContainer, fps: float) -> None:
        self._container = container
        self._stream = container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._origin = container.start_time / av.time_base if container.start_time else 0.0
        self._quarter = 0.25 / fps
        self._decoded: Iterator[av.VideoFrame] | None = None
        self._held: av.VideoFrame | None = None
        self._position: float | None = None

    def _must_seek(self, job: Encode) -> bool:
        if self._decoded is None or self._position is None or self._position > job.start:
            return True
        return job.keyframe_before is None or job.keyframe_before > self._position

    def between(self, job: Encode) -> Iterator[av.VideoFrame]:
        """Frames shown from `job.start` up to `job.end`."""
        if self._must_seek(job):
            base = self._stream.time_base or Fraction(1, av.time_base)
            target = max(job.start - self._quarter, 0) + self._origin
            self._container.seek(int(target / base), stream=self._stream, backward=True)
            self._decoded, self._held = self._container.decode(self._stream), None
        assert self._decoded is not None
        while (frame := self._held or next(self._decoded, None)) is not None:
            self._held = None
            if frame.time is None:
                continue
            self._position = frame.time - self._origin
            if self._position >= job.end - self._quarter:
                self._held = frame
                return
            if self._position >= job.start - self._quarter:
                yield frame


def _encode(frames: Iterator[av.VideoFrame], source: av.VideoStream, out: Path, options: dict[str, str]) -> None:
    """H.264 in a video-only MP4, timestamps from zero, the source's picture size and frame rate."""
    rate = source.average_rate or source.guessed_rate or Fraction(25)
    with av.open(str(out), mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=rate, options=options)
        stream.width, stream.height, stream.pix_fmt = source.codec_context.width, source.codec_context.height, "yuv420p"
        for index, frame in enumerate(frames):
            picture = frame.reformat(format="yuv420p")
            picture.pts, picture.time_base, picture.pict_type = index, 1 / rate, av.video.frame.PictureType.NONE
            output.mux(stream.encode(picture))
        output.mux(stream.encode(None))


def _encode_in_order(
    src: Path, info: MediaInfo, jobs: list[Encode], options: dict[str, str], done: Callable[[], None]
) -> None:
    """Encode `jobs` (sorted by start) from one decoder that reads the source front to back."""
    with open_media(src) as container:
        frames = _Frames(container, info.fps or 25)
        try:
            for job in jobs:
                _encode(frames.between(job), container.streams.video[0], job.out, options)
                done()
        except av.error.FFmpegError as exc:
            raise MediaError(f"re-encoding frames of {src.name} failed: {exc.strerror}") from None


def encode_all(
    src: Path, info: MediaInfo, jobs: list[Encode], options: dict[str, str], progress: Progress | None
) -> None:
    """Encode every job's frames: the jobs split into `ENCODE_WORKERS` runs of consecutive ones, each run
    read by its own decoder in its own thread (PyAV decodes and x264 encodes without the GIL)."""
    ordered = sorted(jobs, key=lambda job: job.start)
    size = max(1, -(-len(ordered) // ENCODE_WORKERS))
    parts = [ordered[at:at + size] for at in range(0, len(ordered), size)]
    finished = itertools.count(1)

    def done() -> None:
        count = next(finished)
        if progress is not None:
            progress(count / len(ordered))

    with ThreadPoolExecutor(max_workers=ENCODE_WORKERS) as pool:
        for future in [pool.submit(_encode_in_order, src, info, part, options, done) for part in parts]:
            future.result()


def _span_pieces(
    keyframes: Keyframes, info: MediaInfo, span: Span, workdir: Path, index: int
) -> tuple[list[Piece], Encode | None]:
    """Pieces covering `span`: a head to re-encode unless the cut is on a keyframe, then the source."""
    half = 0.5 / (info.fps or 25)
    start, end = span
    keyframe = keyframes.at_or_after(start, half)
    if keyframe is not None and abs(keyframe - start) <= half:
        return [Piece(keyframes.path, end - keyframe, keyframe)], None
    head_end = end if keyframe is None or keyframe >= end - half else keyframe
    head = Encode(start, head_end, workdir / f"{index:05d}-head.mp4", keyframes.at_or_before(start, half))
    body = [] if head_end == end else [Piece(keyframes.path, end - head_end, head_end)]
    return [Piece(head.out, head_end - start), *body], head


def _quoted(path: Path) -> str:
    """A path as the concat demuxer's `file` directive reads it (single quotes, `'` escaped)."""
    return "'" + str(path.resolve()).replace("'", "'\\''") + "'"


def _concat_list(pieces: list[Piece], out: Path) -> None:
    lines = []
    for piece in pieces:
        lines.append(f"file {_quoted(piece.path)}")
        if piece.inpoint is not None:
            lines += [f"inpoint {piece.inpoint:.6f}", f"outpoint {piece.inpoint + piece.duration:.6f}"]
        lines.append(f"duration {piece.duration:.6f}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def can_smart_cut(info: MediaInfo) -> bool:
    """The concat demuxer matches streams by position, and heads hold video only, at position 0."""
    return info.video_index == 0


def _kept_audio(src: Path, info: MediaInfo, spans: list[Span], out: Path) -> Path:
    """The kept audio: packets copied for one span, else re-encoded to the sample."""
    if len(spans) == 1 and info.audio_codec in MP4_AUDIO_CODECS:
        copy_audio(src, info, spans[0], out)
    else:
        encode_audio(src, info, spans, out)
    return out


def _write(
    src: Path, info: MediaInfo, spans: list[Span], video: tuple[list[Piece], list[Encode]], options: dict[str, str],
    out: Path, workdir: Path, progress: Progress | None,
) -> None:
    """Encode the video's pieces while the audio is cut beside them (ffmpeg, another process), then mux."""
    pieces, jobs = video
    with ThreadPoolExecutor(max_workers=1) as pool:
        audio = pool.submit(_kept_audio, src, info, spans, workdir / "audio.m4a")
        encode_all(src, info, jobs, options, progress)
        audio_path = audio.result()
    listing = workdir / "video.txt"
    _concat_list(pieces, listing)
    video_in = ffmpeg.input(str(listing), f="concat", safe=0)
    audio_in = ffmpeg.input(str(audio_path))
    # copyts: the audio's start offset from the cut (under one packet) is the sync; do not normalise it away.
    ff.run(ffmpeg.output(video_in["v:0"], audio_in["a:0"], str(out), c="copy", f="mp4", copyts=None),
           f"writing the trimmed {src.name}")


def smart_cut(
    src: Path, info: MediaInfo, spans: list[Span], out: Path, workdir: Path, progress: Progress | None
) -> bool:
    """Write `spans` of a video to `out` (MP4); True if any frames were re-encoded, False if all copied."""
    pieces: list[Piece] = []
    jobs: list[Encode] = []
    with Keyframes(src) as keyframes:
        for index, span in enumerate(spans):
            span_pieces, head = _span_pieces(keyframes, info, span, workdir, index)
            pieces += span_pieces
            jobs += [head] if head else []
    _write(src, info, spans, (pieces, jobs), HEAD_ENCODER, out, workdir, progress)
    return bool(jobs)


def reencode(
    src: Path, info: MediaInfo, spans: list[Span], out: Path, workdir: Path, progress: Progress | None
) -> None:
    """Decode and re-encode every kept frame: slow, but takes any video ffmpeg can read (B-frames, any
    codec, any stream order), one span to a piece so the number of cuts is unlimited."""
    jobs = [Encode(start, end, workdir / f"{index:05d}-span.mp4") for index, (start, end) in enumerate(spans)]
    pieces = [Piece(job.out, job.end - job.start) for job in jobs]
    _write(src, info, spans, (pieces, jobs), VIDEO_ENCODER, out, workdir, progress)
