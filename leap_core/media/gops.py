"""Where a video's keyframes are, and in what order its frames are stored around a cut: what a smart cut
plans from, read from the container's index and a GOP or two of packets, never the whole file.

With B-frames the order frames are stored (decoding order) differs from the order they are shown, and
an index is by decoding time: so keyframes are found in the index, their presentation times read from
their packets, and every seek goes to a keyframe's exact decoding timestamp.
"""

from __future__ import annotations

import bisect
from fractions import Fraction
from pathlib import Path

import av

from leap_core.errors import MediaError
from leap_core.media import h264_poc
from leap_core.media.bitstream import Layout, starts_afresh
from leap_core.media.cut import Keyframe, Reset
from leap_core.media.probe import open_media

LOOK_AHEAD = 16
"""Packets read past the next keyframe: enough to see every frame an open GOP shows before its keyframe."""


class Gops:
    """Keyframe look-ups on one open file (a smart cut asks a few per span, hundreds in pauses mode)."""

    def __init__(self, path: Path, layout: Layout | None = None, codec: str = "h264") -> None:
        self._layout, self._codec = layout, codec
        self._container = open_media(path)
        self._stream = self._container.streams.video[0]
        self.base = self._stream.time_base or Fraction(1, av.time_base)
        start = self._container.start_time
        self.origin = start / av.time_base if start else 0.0
        self._dts = sorted(entry.timestamp for entry in self._stream.index_entries if entry.is_keyframe)
        if not self._dts:
            raise MediaError("the video has no keyframe index")
        self._at: dict[int, float] = {}
        self._pts: dict[int, int] = {}
        self._afresh: dict[int, bool] = {}
        self._resets: dict[int, Reset] = {}

    def __enter__(self) -> Gops:
        return self

    def __exit__(self, *_: object) -> None:
        self._container.close()

    def units(self, seconds: float) -> int:
        """Seconds from the file's start as a timestamp of the video stream."""
        return round((seconds + self.origin) / self.base)

    def seconds(self, units: int) -> float:
        return float(units * self.base) - self.origin

    def _packets(self, index: int) -> list[tuple[int, int]]:
        """(pts, dts) of packets from keyframe `index` in decoding order, through the next keyframe and
        `LOOK_AHEAD` packets after it (or the end of the stream)."""
        # Demuxers seek by presentation time (MP4 in FFmpeg 7) or by decoding time: aim at the keyframe's pts
        # once known, else its dts, which lands at or before it; then skip to it.
        self._container.seek(self._pts.get(index, self._dts[index]), stream=self._stream, backward=True)
        packets: list[tuple[int, int]] = []
        after = -1
        for packet in self._container.demux(self._stream):
            if packet.pts is None or packet.dts is None or (not packets and packet.dts != self._dts[index]):
                continue
            if not packets and self._layout is not None and index not in self._afresh:
                self._afresh[index] = starts_afresh(self._codec, bytes(packet), self._layout.length_size)
                if not self._afresh[index]:
                    self._resets[index] = self._reset(bytes(packet))
            if packets and packet.is_keyframe and after < 0:
                after = 0
            packets.append((packet.pts, packet.dts))
            if after >= 0:
                after += 1
                if after > LOOK_AHEAD:
                    break
        if not packets or packets[0][1] != self._dts[index]:
            raise MediaError("seeking to a keyframe did not land on it")
        return packets

    def at(self, index: int) -> float:
        """When keyframe `index` is shown."""
        if index not in self._at:
            self._pts[index] = self._packets(index)[0][0]
            self._at[index] = self.seconds(self._pts[index])
        return self._at[index]

    def starts_afresh(self, index: int) -> bool:
        """Whether copied frames may start at keyframe `index` (see `bitstream.starts_afresh`)."""
        self.at(index)
        return self._afresh.get(index, True)

    def _reset(self, data: bytes) -> Reset:
        """How a head before this open GOP's keyframe (H.264, non-IDR) ends; read only for such keyframes."""
        assert self._layout is not None
        sps = h264_poc.source_sps(self._layout.parameter_sets, self._layout.length_size)
        if sps.poc_type != 0:
            raise MediaError(f"H.264 with open GOPs and picture order count type {sps.poc_type}: copied "
                             "frames cannot follow re-encoded ones")
        lsb = h264_poc.keyframe_lsb(data, self._layout.length_size, sps)
        return Reset(h264_poc.lsb_after(lsb, sps), sps.log2_max_poc_lsb)

    def reset_before(self, index: int) -> Reset | None:
        """How the head before keyframe `index` must end (None: as it likes, the keyframe is an IDR or HEVC)."""
        self.at(index)
        return self._resets.get(index)

    @property
    def count(self) -> int:
        return len(self._dts)

    def keyframe(self, index: int) -> Keyframe:
        at = self.at(index)
        return Keyframe(at, self._pts[index], self._dts[index])

    def last_at_or_before(self, seconds: float) -> int | None:
        """The last keyframe shown at or before `seconds`: a keyframe is decoded no later than shown, so it
        is at or before the last one decoded by then."""
        index = bisect.bisect_right(self._dts, self.units(seconds)) - 1
        while index >= 0 and self.at(index) > seconds:
            index -= 1
        return index if index >= 0 else None

    def first_at_or_after(self, seconds: float) -> int | None:
        before = self.last_at_or_before(seconds)
        index = 0 if before is None else before + (self.at(before) < seconds)
        return index if index < len(self._dts) else None

    def clean_end(self, index: int, end: float, tolerance: float) -> float:
        """The latest time at or before `end` where the frames from keyframe `index` can stop being
        copied: every frame stored before it shown before it, every frame stored after it shown after.

        With B-frames a reference frame is stored before the frames shown ahead of it, so ending a copy
        on any frame would keep that reference frame past the end; these clean ends come once per group
        of B-frames (every 2-4 frames). In an open GOP the earliest is before keyframe `index` is shown (the
        frames it shows first are stored after it)."""
        packets = [pts for pts, _ in self._packets(index)]
        limit = self.units(end - tolerance)
        suffix_min = [0] * (len(packets) + 1)
        suffix_min[-1] = 2**62
        for position in range(len(packets) - 1, -1, -1):
            suffix_min[position] = min(packets[position], suffix_min[position + 1])
        best = self.seconds(suffix_min[0])
        shown_so_far = None
        for count in range(1, len(packets) + 1):
            shown_so_far = packets[count - 1] if shown_so_far is None else max(shown_so_far, packets[count - 1])
            if shown_so_far >= limit:
                break
            if shown_so_far < suffix_min[count]:
                best = min(self.seconds(suffix_min[count]), end) if suffix_min[count] < 2**62 else end
        return best
