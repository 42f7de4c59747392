"""Writing the kept spans of a recording: stream copy, smart cut, or a full re-encode.

Smart cut (H.264 and HEVC, with or without B-frames, closed or open GOPs): for each kept span only the
frames from the cut to the next keyframe are re-encoded (a "head"); the rest of the span is the source's
packets, copied. A copied piece ends where the source's frames can be cut without keeping a reference
frame shown later: with B-frames that is at most a few frames before the span's end (a "clean end");
the end moves there when that stays inside the span's silent margin, else those frames are re-encoded
too (a "tail"). Every head and tail comes out of one pass of one decoder per half of the cut list, in
order (pauses mode makes hundreds: an ffmpeg start, seek and GOP decode per head cost more than the
frames themselves). `remux.write` then lays heads, copies and tails on the output's timeline by
presentation time, with the audio cut at the same instants, in one pass.

The full re-encode joins one MP4 per span through ffmpeg's concat demuxer, which is exact for pieces
that each start at zero.
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
from leap_core.media import bitstream, h264_poc, remux
from leap_core.media import ffmpeg as ff
from leap_core.media.ffmpeg import Progress
from leap_core.media.probe import MediaInfo, open_media
from leap_core.media.spans import Span

SMART_CUT_CODECS = frozenset({"h264", "hevc"})
"""The codecs whose packets `bitstream` can move between the source's track and an encoder's."""
HEAD_CODEC = {"h264": "libx264", "hevc": "libx265"}
MP4_VIDEO_CODECS = frozenset({"h264", "hevc", "av1", "mpeg4", "vp9"})
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"})
VIDEO_ENCODER = {"preset": "veryfast", "crf": "18"}
HEAD_ENCODER = {"preset": "ultrafast", "crf": "16", "bf": "0"}
HEAD_ENCODER_HEVC = {"preset": "ultrafast", "crf": "18", "x265-params": "bframes=0:log-level=error"}
END_SLACK_S = 0.25
"""A span may end up to this much early (never more than its margin) to end on a clean end and be copied
whole: 2 to 6 frames of silence a viewer does not miss, against a GOP decode per span."""
"""Heads are at most one GOP per cut, but pauses mode makes hundreds: ultrafast is three times quicker
than veryfast, and a lower CRF buys back its quality. No B-frames: a head's last frame is its last."""
ENCODE_WORKERS = {"h264": 2, "hevc": 1}
"""Pauses mode makes a head per cut; one decoder's frame threads left the second core partly idle, two
decoders over two halves of the cut list keep both busy (heads of a 64-minute lecture: 37 s -> see
bench/README.md). x265 threads its own frames: a second HEVC decoder and encoder bought 4 % (pauses of a
237-s 720p lecture, 6.16 s against 6.42 s) for 100 MiB (peak 353 against 251 MiB, over the 300 MB goal)."""
AUDIO_ENCODER = {"acodec": "aac", "aac_coder": "fast", "audio_bitrate": "128k"}
"""The default AAC coder takes 3 s per 4 minutes of mono 16 kHz; `fast` halves that, audibly the same."""


def copy_audio(src: Path, info: MediaInfo, span: Span, out: Path, track: int = 0) -> None:
    """Copy one span of audio packets: from the first packet at or after the cut to the last that starts
    half a packet before the span ends.

    The copied packets keep their offset from the cut (under one packet), so muxed against video that
    starts exactly at the cut they stay in sync instead of being pulled early; at the end the audio
    stops within half a packet of the video (32 ms at 16 kHz) either way.
    """
    start, end = span
    packet = (info.audio_frame_size or 0) / (info.sample_rate or 48_000)
    stream = ffmpeg.input(str(src), ss=f"{start:.6f}")[f"a:{track}"]
    ff.run(stream.output(str(out), t=f"{end - start - packet / 2:.6f}", acodec="copy", copypriorss=0, f="mp4"),
           f"copying the audio of {src.name}")


@dataclass(frozen=True)
class Piece:
    """One entry of the concat list (the full re-encode): a whole span file."""

    path: Path
    duration: float


@dataclass(frozen=True)
class Keyframe:
    """A keyframe of the source: when it is shown (seconds from the file's start), and its presentation
    and decoding timestamps in the stream's time base (a seek aims at the first, a packet is known by both)."""

    at: float
    pts: int
    dts: int


@dataclass(frozen=True)
class Reset:
    """How a head before an open GOP's keyframe (a non-IDR I-frame) ends: on an IDR whose
    `pic_order_cnt_lsb` is `lsb`, so the copied frames' picture order follows it (`h264_poc`); `bits` is
    the width of the keyframe's lsb, which the head's must match."""

    lsb: int
    bits: int


@dataclass(frozen=True)
class Encode:
    """Frames of the source shown from `start` up to `end`, to be encoded into `out`."""

    start: float
    end: float
    out: Path
    keyframe: Keyframe | None = None
    """Where decoding must begin to reach `start` (None: the start of the file)."""
    reset: Reset | None = None
    """Set when copied frames of an open GOP follow: the head then ends on an IDR (`HeadSink`)."""


Sink = Callable[[Iterator[av.VideoFrame], av.VideoStream, Encode], object]


class _Frames:
    """The source's video frames in display order, decoded once: seeking only to skip ahead, never to go
    back over frames already decoded."""

    def __init__(self, container: av.container.InputContainer, fps: float) -> None:
        self._container = container
        self._stream = container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._origin = container.start_time / av.time_base if container.start_time else 0.0
        self._base = self._stream.time_base or Fraction(1, av.time_base)
        self._quarter = 0.25 / fps
        self._decoded: Iterator[av.VideoFrame] | None = None
        self._held: av.VideoFrame | None = None
        self._position: float | None = None
        self._codec = self._stream.codec_context.name
        self._length_size: int | None = None
        try:
            self._length_size = bitstream.layout(self._codec, self._stream.codec_context.extradata).length_size
        except MediaError:
            self._length_size = None  # Annex B or another codec: every packet is decoded
        self._skip_before = 0
        """Disposable pictures shown before this (pts) are not decoded: no job needs them, no frame refers to them."""

    def _decode(self) -> Iterator[av.VideoFrame]:
        """`container.decode`, less the disposable pictures shown before the current job's start: with
        B-frames those are a third to half of the GOP a head is decoded through to reach its cut."""
        size = self._length_size
        for packet in self._container.demux(self._stream):
            if (size is not None and packet.pts is not None and packet.pts < self._skip_before and packet.size
                    and bitstream.disposable(self._codec, bytes(packet), size)):
                continue
            yield from packet.decode()

    def _must_seek(self, job: Encode) -> bool:
        if self._decoded is None or self._position is None or self._position > job.start:
            return True
        return job.keyframe is not None and job.keyframe.at > self._position

    def _seek(self, job: Encode) -> None:
        """Seek to the job's keyframe by its own timestamp: with B-frames a seek to the frame shown just
        before a keyframe can land on that keyframe (the index is by decoding time) and miss the frame."""
        if job.keyframe is not None:
            self._container.seek(job.keyframe.pts, stream=self._stream, backward=True)
        else:
            target = max(job.start - self._quarter, 0) + self._origin
            self._container.seek(int(target / self._base), stream=self._stream, backward=True)
        self._decoded, self._held = self._decode(), None

    def between(self, job: Encode) -> Iterator[av.VideoFrame]:
        """Frames shown from `job.start` up to `job.end`."""
        self._skip_before = int((job.start - self._quarter + self._origin) / self._base)  # jobs come sorted
        if self._must_seek(job):
            self._seek(job)
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


def _encode(frames: Iterator[av.VideoFrame], source: av.VideoStream, job: Encode, options: dict[str, str]) -> None:
    """H.264 in a video-only MP4, the source's picture size, each frame at its own time from the span's
    start: a variable frame rate stays variable (renumbering frames at an average rate is what
    drifts audio from video after cutting VFR screen recordings)."""
    rate = source.average_rate or source.guessed_rate or Fraction(25)
    base = source.time_base or Fraction(1, 90_000)
    with av.open(str(job.out), mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=rate, options=options)
        stream.width, stream.height, stream.pix_fmt = source.codec_context.width, source.codec_context.height, "yuv420p"
        stream.codec_context.time_base = base
        began = getattr(source.container, "start_time", None)
        origin = began / av.time_base if began else 0.0
        start = round((job.start + origin) / base)
        for frame in frames:
            picture = frame.reformat(format="yuv420p")
            picture.pts, picture.time_base = max((frame.pts or 0) - start, 0), base
            picture.pict_type = av.video.frame.PictureType.NONE
            output.mux(stream.encode(picture))
        output.mux(stream.encode(None))


def _head_context(source: av.VideoStream, codec: str, options: dict[str, str]) -> av.VideoCodecContext:
    """An encoder matching the source track: picture size, pixel format, level, time base and rate, so its
    frames sit in the source's track and keep the source's timestamps (VFR included)."""
    context = av.CodecContext.create(HEAD_CODEC[codec], "w")
    assert isinstance(context, av.VideoCodecContext)
    decoder = source.codec_context
    context.width, context.height = decoder.width, decoder.height
    context.pix_fmt = decoder.pix_fmt or "yuv420p"
    context.time_base = source.time_base or Fraction(1, 90_000)
    context.framerate = source.average_rate or source.guessed_rate or Fraction(25)
    context.sample_aspect_ratio = decoder.sample_aspect_ratio
    for name in ("color_range", "colorspace", "color_primaries", "color_trc"):
        setattr(context, name, getattr(decoder, name))
    level = {"level": str(decoder.level)} if codec == "h264" and decoder.level and decoder.level > 0 else {}
    context.options = {**options, **level}
    return context


class HeadSink:
    """Encodes each job's frames with the head encoder into a file of length-prefixed packets: what
    `remux.write` copies into the output track."""

    def __init__(self, codec: str, layout: bitstream.Layout) -> None:
        self.codec, self.layout = codec, layout
        self.options = HEAD_ENCODER_HEVC if codec == "hevc" else HEAD_ENCODER
        self.encoded: dict[Path, remux.Encoded] = {}

    def __call__(self, frames: Iterator[av.VideoFrame], source: av.VideoStream, job: Encode) -> None:
        options = self.options if job.reset is None else _resetting(self.options, job.reset)
        context = _head_context(source, self.codec, options)
        packets: list[tuple[int, bool, int, int]] = []
        with job.out.open("wb") as handle:

            def keep(encoded: list[av.Packet]) -> None:
                for packet in encoded:
                    assert packet.pts is not None
                    data = bitstream.from_annexb(bytes(packet), self.layout.length_size)
                    if packets and packet.is_keyframe and job.reset is not None:
                        data = h264_poc.idr_with_lsb(data, self.layout.length_size, job.reset.lsb)
                    packets.append((packet.pts, packet.is_keyframe, handle.tell(), len(data)))
                    handle.write(data)

            held: av.VideoFrame | None = None
            for frame in itertools.chain(frames, [None]):  # one frame held back: the last may have to be an IDR
                if held is not None:
                    picture = held if held.format.name == context.pix_fmt else held.reformat(format=context.pix_fmt)
                    last = frame is None and job.reset is not None
                    picture.pict_type = av.video.frame.PictureType.I if last else av.video.frame.PictureType.NONE
                    keep(context.encode(picture))
                held = frame
            keep(context.encode(None))
        if not packets:
            raise MediaError(f"no frames decoded between {job.start:.3f} s and {job.end:.3f} s")
        if job.reset is not None and len(packets) == 1:  # its one frame is the IDR it ends on
            data = h264_poc.idr_with_lsb(job.out.read_bytes(), self.layout.length_size, job.reset.lsb)
            job.out.write_bytes(data)
            packets[0] = (packets[0][0], True, 0, len(data))
        if job.reset is not None and not (packets[-1][1] and packets[-1][0] == max(packets)[0]):
            raise MediaError("the head encoder did not end on the IDR it was asked for")
        self.encoded[job.out] = remux.Encoded(job.out, packets)


def _resetting(options: dict[str, str], reset: Reset) -> dict[str, str]:
    """Head options for a head that ends on an IDR carrying an lsb of `reset.bits` bits. x264 writes a
    `pic_order_cnt_lsb` (POC type 0) only with B-frames, sized from their number: (bframes + 2) * 2 * 2
    must reach 2^(bits - 1) (`x264_sps_init`). Without a B-pyramid its frames are reordered one place,
    which every open-GOP source (it has B-frames) allows; `HeadSink` checks the width it got."""
    bframes = min(16, max(1, 2 ** (reset.bits - 3) - 2))
    return {**options, "bf": str(bframes), "b-pyramid": "none", "forced-idr": "1"}


def _encode_in_order(src: Path, info: MediaInfo, jobs: list[Encode], sink: Sink, done: Callable[[], None]) -> None:
    """Encode `jobs` (sorted by start) from one decoder that reads the source front to back."""
    with open_media(src) as container:
        frames = _Frames(container, info.fps or 25)
        try:
            for job in jobs:
                sink(frames.between(job), container.streams.video[0], job)
                done()
        except av.error.FFmpegError as exc:
            raise MediaError(f"re-encoding frames of {src.name} failed: {exc.strerror}") from None


def encode_all(src: Path, info: MediaInfo, jobs: list[Encode], sink: Sink, progress: Progress | None) -> None:
    """Encode every job's frames: the jobs split into the codec's `ENCODE_WORKERS` runs of consecutive ones,
    each run read by its own decoder in its own thread (PyAV decodes and x264 encodes without the GIL)."""
    workers = ENCODE_WORKERS.get(info.video_codec or "", 1)
    ordered = sorted(jobs, key=lambda job: job.start)
    size = max(1, -(-len(ordered) // workers))
    parts = [ordered[at:at + size] for at in range(0, len(ordered), size)]
    finished = itertools.count(1)

    def done() -> None:
        count = next(finished)
        if progress is not None:
            progress(count / len(ordered))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(_encode_in_order, src, info, part, sink, done) for part in parts]:
            future.result()


def _quoted(path: Path) -> str:
    """A path as the concat demuxer's `file` directive reads it (single quotes, `'` escaped)."""
    return "'" + str(path.resolve()).replace("'", "'\\''") + "'"


def _concat_list(pieces: list[Piece], out: Path) -> None:
    lines = []
    for piece in pieces:
        # inpoint 0: a piece's timestamps count from the span's start, not from its first frame (with a
        # variable frame rate the first frame may come a little after the start).
        lines += [f"file {_quoted(piece.path)}", "inpoint 0", f"duration {piece.duration:.6f}"]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


AudioOut = Callable[[list[Span], Path], Path]
"""Writes the kept audio of the given spans to the given file and returns it (`audio.AudioWriter`)."""


def reencode(
    src: Path, info: MediaInfo, spans: list[Span], out: Path, workdir: Path, progress: Progress | None,
    audio_out: AudioOut,
) -> None:
    """Decode and re-encode every kept frame: slow, but takes any video ffmpeg can read (any codec, any
    stream order), one span to a piece so the number of cuts is unlimited."""
    jobs = [Encode(start, end, workdir / f"{index:05d}-span.mp4") for index, (start, end) in enumerate(spans)]
    pieces = [Piece(job.out, job.end - job.start) for job in jobs]

    def sink(frames: Iterator[av.VideoFrame], source: av.VideoStream, job: Encode) -> None:
        _encode(frames, source, job, VIDEO_ENCODER)

    with ThreadPoolExecutor(max_workers=1) as pool:
        audio = pool.submit(audio_out, spans, workdir / "audio.m4a")
        encode_all(src, info, jobs, sink, progress)
        audio_path = audio.result()
    listing = workdir / "video.txt"
    _concat_list(pieces, listing)
    video_in = ffmpeg.input(str(listing), f="concat", safe=0)
    audio_in = ffmpeg.input(str(audio_path))
    # copyts: the audio's start offset from the cut (under one packet) is the sync; do not normalise it away.
    ff.run(ffmpeg.output(video_in["v:0"], audio_in["a:0"], str(out), c="copy", f="mp4", copyts=None),
           f"writing the trimmed {src.name}")
