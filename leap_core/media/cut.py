"""Writing the kept spans of a recording: stream copy, smart cut, or a full re-encode.

Smart cut: for each kept span, only the frames from the cut to the next keyframe are re-encoded; the
rest is copied packet for packet. Both parts are written as raw H.264 (Annex B, which repeats the
parameter sets in-band at every keyframe, so the re-encoded and copied pieces each decode with their
own), joined byte for byte, and muxed with the audio at the source frame rate. Every cut sits on the
frame grid (see `spans.on_frame_grid`), so frame counts, not timestamps, carry the timing and the
audio cut at the same instants stays in sync however many spans there are.
"""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import ffmpeg

from leap_core.media import ffmpeg as ff
from leap_core.media.ffmpeg import Progress
from leap_core.media.probe import MediaInfo, keyframe_at_or_after
from leap_core.media.spans import Span, total

SMART_CUT_CODECS = frozenset({"h264"})
"""Raw Annex B concatenation is what makes the smart cut exact; it is implemented for H.264 only."""
MP4_VIDEO_CODECS = frozenset({"h264", "hevc", "av1", "mpeg4", "vp9"})
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"})
VIDEO_ENCODER = {"vcodec": "libx264", "preset": "veryfast", "crf": 18}
NO_REORDER = {"bf": 0}
"""Raw H.264 carries no timestamps: frames must decode in display order, so heads use no B-frames."""
AUDIO_ENCODER = {"acodec": "aac", "audio_bitrate": "128k"}
AUDIO_GRAIN_S = 0.001
"""Audio frames are re-chunked to 1 ms before selection, so an audio cut lands within 1 ms of the video's."""


def _frame_rate(info: MediaInfo) -> str:
    return str(Fraction(info.fps or 25).limit_denominator(1001))


def _select(spans: list[Span]) -> str:
    """A select/aselect expression true inside any kept span (half-open, so each frame is taken once)."""
    return "+".join(f"gte(t,{start:.6f})*lt(t,{end:.6f})" for start, end in spans)


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


def encode_audio(src: Path, info: MediaInfo, spans: list[Span], out: Path, progress: Progress | None) -> None:
    """Re-encode the kept spans of the audio to AAC, cut to the millisecond (no drift across many cuts)."""
    grain = max(1, int((info.sample_rate or 48_000) * AUDIO_GRAIN_S))
    audio = (ffmpeg.input(str(src))["a:0"].filter("asetnsamples", n=grain, p=0)
             .filter("aselect", _select(spans)).filter("asetpts", "N/SR/TB"))
    ff.run(audio.output(str(out), f="mp4", **AUDIO_ENCODER), f"re-encoding the audio of {src.name}",
           _scaled(progress, total(spans)))


def _scaled(progress: Progress | None, seconds: float) -> Progress | None:
    """ffmpeg reports output seconds; callers want a fraction."""
    if progress is None or seconds <= 0:
        return progress
    return lambda done: progress(min(done / seconds, 1.0))


def _encode_video(src: Path, info: MediaInfo, span: Span, out: Path) -> None:
    """Re-encode the frames of `span` (on the frame grid) to raw H.264 matching the source's picture."""
    quarter = 0.25 / (info.fps or 25)
    start, end = span
    video = ffmpeg.input(str(src), ss=f"{max(start - quarter, 0):.6f}")["v:0"]
    ff.run(video.output(str(out), t=f"{end - start:.6f}", f="h264", pix_fmt="yuv420p",
                        fps_mode="passthrough", **VIDEO_ENCODER, **NO_REORDER),
           f"re-encoding the first frames of a cut in {src.name}")


def _copy_video(src: Path, info: MediaInfo, span: Span, out: Path) -> None:
    """Copy video packets of `span`, which starts on a keyframe, to raw H.264 (Annex B)."""
    quarter = 0.25 / (info.fps or 25)
    start, end = span
    video = ffmpeg.input(str(src), ss=f"{start + quarter:.6f}")["v:0"]
    ff.run(video.output(str(out), t=f"{end - start - 2 * quarter:.6f}", vcodec="copy", f="h264"),
           f"copying the video of {src.name}")


def _video_pieces(
    src: Path, info: MediaInfo, span: Span, workdir: Path, index: int
) -> tuple[list[Path], bool]:
    """Raw H.264 pieces covering `span`; True when a head was re-encoded (the cut is off a keyframe)."""
    half = 0.5 / (info.fps or 25)
    start, end = span
    keyframe = keyframe_at_or_after(src, "video", start, half)
    if keyframe is not None and abs(keyframe - start) <= half:
        body = workdir / f"{index:05d}-body.h264"
        _copy_video(src, info, (keyframe, end), body)
        return [body], False
    head = workdir / f"{index:05d}-head.h264"
    if keyframe is None or keyframe >= end - half:
        _encode_video(src, info, span, head)
        return [head], True
    body = workdir / f"{index:05d}-body.h264"
    _encode_video(src, info, (start, keyframe), head)
    _copy_video(src, info, (keyframe, end), body)
    return [head, body], True


def smart_cut(
    src: Path, info: MediaInfo, spans: list[Span], out: Path, workdir: Path, progress: Progress | None
) -> bool:
    """Write `spans` of a video to `out` (MP4); True if any frames were re-encoded, False if all copied."""
    joined = workdir / "video.h264"
    reencoded = False
    with joined.open("wb") as sink:
        for index, span in enumerate(spans):
            pieces, encoded = _video_pieces(src, info, span, workdir, index)
            reencoded |= encoded
            for piece in pieces:
                with piece.open("rb") as source:
                    shutil.copyfileobj(source, sink)
                piece.unlink()
            if progress is not None:
                progress((index + 1) / (len(spans) + 1))
    audio = workdir / "audio.m4a"
    if len(spans) == 1 and info.audio_codec in MP4_AUDIO_CODECS:
        copy_audio(src, info, spans[0], audio)
    else:
        encode_audio(src, info, spans, audio, None)
    video_in = ffmpeg.input(str(joined), f="h264", framerate=_frame_rate(info))
    audio_in = ffmpeg.input(str(audio))
    # copyts: the audio's start offset from the cut (under one packet) is the sync; do not normalise it away.
    ff.run(ffmpeg.output(video_in["v:0"], audio_in["a:0"], str(out), c="copy", f="mp4", copyts=None),
           f"writing the trimmed {src.name}")
    return reencoded


def reencode(src: Path, info: MediaInfo, spans: list[Span], out: Path, progress: Progress | None) -> None:
    """Decode and re-encode everything kept: slow, but takes any input ffmpeg can read."""
    grain = max(1, int((info.sample_rate or 48_000) * AUDIO_GRAIN_S))
    source = ffmpeg.input(str(src))
    video = source["v:0"].filter("select", _select(spans)).filter("setpts", "N/FRAME_RATE/TB")
    audio = (source["a:0"].filter("asetnsamples", n=grain, p=0)
             .filter("aselect", _select(spans)).filter("asetpts", "N/SR/TB"))
    output = ffmpeg.output(video, audio, str(out), f="mp4", pix_fmt="yuv420p", **VIDEO_ENCODER,
                           **AUDIO_ENCODER)
    ff.run(output, f"re-encoding {src.name}", _scaled(progress, total(spans)))
