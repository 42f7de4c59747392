"""One MP4 out of re-encoded frames and stream-copied ones, written packet by packet with PyAV.

ffmpeg's concat demuxer cannot do this for video with B-frames: it ends a piece at a *decoding*
timestamp (so a copied piece keeps a reference frame shown after its end), keeps the leading frames of
an open GOP that belong before its in point, and lets decoding timestamps run backwards where a piece
without B-frames meets one with them. Here every piece is a set of frames chosen by *presentation* time,
each frame moved by its span's offset, and decoding timestamps are laid out anew for the whole track
(`_DecodeTimes`), so presentation order and timing are exactly the source's within each span.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container

from leap_core.errors import MediaError
from leap_core.media.bitstream import Layout
from leap_core.media.probe import open_media


@dataclass(frozen=True)
class Encoded:
    """Frames re-encoded into `path`, NAL units already as the source stores them: per packet, in decoding
    order, (pts in the source's time base, keyframe, offset in the file, size)."""

    path: Path
    packets: list[tuple[int, bool, int, int]]


@dataclass(frozen=True)
class Copied:
    """Source packets shown from `start` up to `end` (pts, source time base), read from the keyframe shown
    at `start` whose decoding timestamp is `keyframe_dts`."""

    keyframe_dts: int
    start: int
    end: int


@dataclass(frozen=True)
class Placed:
    """A piece and what its span adds to every source pts to put it on the output's timeline."""

    piece: Encoded | Copied
    offset: int


class _DecodeTimes:
    """Decoding timestamps for a track whose frames are reordered by at most `delay` places: the n-th is
    the (n - delay)-th smallest presentation time, so they increase and never pass their frame's pts."""

    def __init__(self, delay: int, step: int) -> None:
        self._delay, self._step = delay, max(step, 1)
        self._pending: list[int] = []
        self._first: int | None = None
        self._last: int | None = None
        self._count = 0

    def next(self, pts: int) -> int:
        heapq.heappush(self._pending, pts)
        if self._first is None:
            self._first = pts
        if self._count < self._delay:
            dts = self._first - (self._delay - self._count) * self._step
        else:
            dts = heapq.heappop(self._pending)
        self._count += 1
        if self._last is not None and dts <= self._last:
            dts = self._last + 1
        if dts > pts:
            raise MediaError(f"frames are reordered deeper than {self._delay} places")
        self._last = dts
        return dts


def _copied(container: av.container.InputContainer, stream: av.VideoStream, piece: Copied) -> Iterator[av.Packet]:
    """The source packets of `piece` in decoding order; leading frames of an open GOP (shown before its
    keyframe) and frames shown at or after `end` are left out."""
    container.seek(piece.start, stream=stream, backward=True)
    first = True
    for packet in container.demux(stream):
        if packet.dts is None or packet.pts is None:
            if packet.size == 0:
                return
            continue
        if first and packet.dts < piece.keyframe_dts:
            continue  # the demuxer seeks by decoding time and landed on an earlier keyframe
        if first and not (packet.is_keyframe and packet.dts == piece.keyframe_dts):
            raise MediaError("seeking to a keyframe did not land on it")
        first = False
        if packet.dts >= piece.end:
            return
        if piece.start <= packet.pts < piece.end:
            yield packet


def _encoded(piece: Encoded, handle: object) -> Iterator[tuple[bytes, int, bool]]:
    assert hasattr(handle, "seek") and hasattr(handle, "read")
    for pts, key, offset, size in piece.packets:
        handle.seek(offset)
        yield handle.read(size), pts, key


class _Output:
    """The output file: video packets placed on the timeline, audio packets interleaved by time."""

    def __init__(self, output: av.container.OutputContainer, source: av.VideoStream, audio: av.container.InputContainer,
                 delay: int, end: float) -> None:
        self.output = output
        self.base = source.time_base or Fraction(1, 90_000)
        self.video = output.add_stream_from_template(source)
        audio_in = audio.streams.audio[0]
        self.audio = output.add_stream_from_template(audio_in)
        self._audio_packets = (p for p in audio.demux(audio_in) if p.dts is not None)
        self._audio_scale = float(audio_in.time_base or Fraction(1, 48_000))
        self._scale = float(self.base)
        self._held: av.Packet | None = None
        self._held_at = float("-inf")
        """When the held audio packet decodes: checked per video packet, so kept as a float (no Fractions)."""
        self._end = end
        rate = source.average_rate or source.guessed_rate or Fraction(25)
        self.step = max(1, round(1 / (rate * self.base)))
        self._times = _DecodeTimes(delay, self.step)

    def _audio_until(self, seconds: float) -> None:
        """Mux the audio packets that decode before `seconds`: interleaving keeps the muxer's buffer small."""
        if self._held is not None and self._held_at > seconds:
            return
        while True:
            packet = self._held or next(self._audio_packets, None)
            self._held = None
            if packet is None:
                return
            assert packet.dts is not None
            if packet.dts * self._audio_scale > seconds:
                self._held, self._held_at = packet, packet.dts * self._audio_scale
                return
            middle = (packet.pts or 0) + (packet.duration or 0) / 2
            if middle * self._audio_scale > self._end:
                continue  # AAC pads its last packet: more than half of it past the video's end would outlast it
            packet.stream = self.audio
            self.output.mux(packet)

    def video_packet(self, packet: av.Packet, pts: int, key: bool, fresh: bool) -> None:
        """Mux one video packet at `pts`; `fresh` packets were made here (a demuxed one has its time base)."""
        dts = self._times.next(pts)
        self._audio_until(dts * self._scale + 0.5)
        packet.pts, packet.dts = pts, dts
        if fresh:
            packet.time_base, packet.duration, packet.is_keyframe = self.base, self.step, key
        packet.stream = self.video
        self.output.mux(packet)

    def finish(self) -> None:
        self._audio_until(float("inf"))


def write(src: Path, placed: list[Placed], audio: Path, out: Path, layout: Layout, delay: int, end: float) -> None:
    """Write `placed` pieces (in output order) with the audio of `audio` into the MP4 `out`, which lasts `end`.

    Each copied piece gets the source's parameter sets in front of its first frame, each re-encoded one
    carries its encoder's; a decoder switches at every piece's first frame, a keyframe."""
    with open_media(src) as source, open_media(audio) as sound, av.open(str(out), mode="w", format="mp4") as output:
        stream = source.streams.video[0]
        sink = _Output(output, stream, sound, delay, end)
        try:
            for item in placed:
                if isinstance(item.piece, Copied):
                    for index, packet in enumerate(_copied(source, stream, item.piece)):
                        assert packet.pts is not None
                        pts, key = packet.pts + item.offset, packet.is_keyframe
                        if index == 0:
                            packet = av.Packet(layout.parameter_sets + bytes(packet))
                        sink.video_packet(packet, pts, key, index == 0)
                else:
                    with item.piece.path.open("rb") as handle:
                        for data, pts, key in _encoded(item.piece, handle):
                            sink.video_packet(av.Packet(data), pts + item.offset, key, True)
            sink.finish()
        except av.error.FFmpegError as exc:
            raise MediaError(f"writing the cut video failed: {exc.strerror}") from None

