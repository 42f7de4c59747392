"""Writing the kept spans of a recording: stream copy, smart cut, or a full re-encode.

Smart cut: for each kept span, only the frames from the cut to the next keyframe are re-encoded (a
small MP4 "head"); the rest of the span is read straight from the source. One ffmpeg run joins heads
and source spans through the concat demuxer, which reads each source span by in/out point (no
intermediate copy of the video) and re-inserts each piece's own parameter sets in-band, so the
re-encoded heads and the copied bodies each decode with their own. Every cut sits on the frame grid
(see `spans.on_frame_grid`) and every piece declares its exact duration, so the audio cut at the same
instants stays in sync however many spans there are.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from leap_core.media import ffmpeg as ff
from leap_core.media import samples
from leap_core.media.ffmpeg import Progress
from leap_core.media.probe import MediaInfo, keyframe_at_or_after
from leap_core.media.spans import Span

SMART_CUT_CODECS = frozenset({"h264"})
"""Raw Annex B concatenation is what makes the smart cut exact; it is implemented for H.264 only."""
MP4_VIDEO_CODECS = frozenset({"h264", "hevc", "av1", "mpeg4", "vp9"})
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"})
VIDEO_ENCODER = {"vcodec": "libx264", "preset": "veryfast", "crf": 18}
HEAD_ENCODER = {"vcodec": "libx264", "preset": "ultrafast", "crf": 16, "bf": 0}
"""Heads are at most one GOP per cut, but pauses mode makes hundreds: ultrafast is three times quicker
than veryfast, and a lower CRF buys back its quality. No B-frames: a head's last frame is its last."""
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


def _encode_head(
    src: Path, info: MediaInfo, span: Span, out: Path, encoder: dict[str, object] = HEAD_ENCODER
) -> Piece:
    """Re-encode the frames of `span` (on the frame grid) to a video-only MP4 matching the source's picture."""
    quarter = 0.25 / (info.fps or 25)
    start, end = span
    video = ffmpeg.input(str(src), ss=f"{max(start - quarter, 0):.6f}")["v:0"]
    ff.run(video.output(str(out), t=f"{end - start:.6f}", f="mp4", pix_fmt="yuv420p",
                        fps_mode="passthrough", **encoder),
           f"re-encoding the first frames of a cut in {src.name}")
    return Piece(out, end - start)


def _span_pieces(src: Path, info: MediaInfo, span: Span, workdir: Path, index: int) -> list[Piece]:
    """Pieces covering `span`: a re-encoded head unless the cut is on a keyframe, then the source."""
    half = 0.5 / (info.fps or 25)
    start, end = span
    keyframe = keyframe_at_or_after(src, "video", start, half)
    if keyframe is not None and abs(keyframe - start) <= half:
        return [Piece(src, end - keyframe, keyframe)]
    head = workdir / f"{index:05d}-head.mp4"
    if keyframe is None or keyframe >= end - half:
        return [_encode_head(src, info, span, head)]
    return [_encode_head(src, info, (start, keyframe), head), Piece(src, end - keyframe, keyframe)]


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
    src: Path, info: MediaInfo, spans: list[Span], out: Path, workdir: Path, progress: Progress | None,
    pieces_for: Callable[[Span, int], list[Piece]],
) -> list[Piece]:
    """Make every span's video pieces while the audio is cut beside them (each is mostly one ffmpeg
    process waiting on another), then mux the two; returns the pieces."""
    pieces: list[Piece] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        audio = pool.submit(_kept_audio, src, info, spans, workdir / "audio.m4a")
        for index, span in enumerate(spans):
            pieces += pieces_for(span, index)
            if progress is not None:
                progress((index + 1) / (len(spans) + 1))
        audio_path = audio.result()
    listing = workdir / "video.txt"
    _concat_list(pieces, listing)
    video_in = ffmpeg.input(str(listing), f="concat", safe=0)
    audio_in = ffmpeg.input(str(audio_path))
    # copyts: the audio's start offset from the cut (under one packet) is the sync; do not normalise it away.
    ff.run(ffmpeg.output(video_in["v:0"], audio_in["a:0"], str(out), c="copy", f="mp4", copyts=None),
           f"writing the trimmed {src.name}")
    return pieces


def smart_cut(
    src: Path, info: MediaInfo, spans: list[Span], out: Path, workdir: Path, progress: Progress | None
) -> bool:
    """Write `spans` of a video to `out` (MP4); True if any frames were re-encoded, False if all copied."""
    pieces = _write(src, info, spans, out, workdir, progress,
                    lambda span, index: _span_pieces(src, info, span, workdir, index))
    return any(piece.inpoint is None for piece in pieces)


def reencode(
    src: Path, info: MediaInfo, spans: list[Span], out: Path, workdir: Path, progress: Progress | None
) -> None:
    """Decode and re-encode every kept frame: slow, but takes any video ffmpeg can read (B-frames, any
    codec, any stream order), one span at a time so the number of cuts is unlimited."""
    _write(src, info, spans, out, workdir, progress,
           lambda span, index: [_encode_head(src, info, span, workdir / f"{index:05d}-span.mp4", VIDEO_ENCODER)])
