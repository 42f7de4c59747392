"""H.264/HEVC packets as an MP4 stores them, and the encoder's as it writes them: what a smart cut needs to
put re-encoded frames and stream-copied ones into one track.

MP4 (and MOV, MKV) store each NAL unit behind a big-endian length and keep the parameter sets (SPS, PPS
and for HEVC the VPS) in the stream's header (avcC/hvcC); x264 and x265 write Annex B (start codes) with
the parameter sets in-band. One output track then holds both: every piece carries its own parameter
sets in-band at its first frame (re-encoded frames do not share the source's), and every NAL behind the
source's length size.
"""

from __future__ import annotations

from dataclasses import dataclass

from leap_core.errors import MediaError


@dataclass(frozen=True)
class Layout:
    """How a source track stores NAL units: their length size and its parameter sets, length-prefixed."""

    length_size: int
    parameter_sets: bytes


def _prefixed(units: list[bytes], length_size: int) -> bytes:
    return b"".join(len(unit).to_bytes(length_size, "big") + unit for unit in units)


def _avcc_units(extradata: bytes) -> tuple[int, list[bytes]]:
    at, units = 6, []
    for count_at_end in (True, False):
        count = extradata[5] & 0x1F if count_at_end else extradata[at - 1]
        for _ in range(count):
            size = int.from_bytes(extradata[at:at + 2], "big")
            units.append(extradata[at + 2:at + 2 + size])
            at += 2 + size
        at += 1
    return (extradata[4] & 3) + 1, units


def _hvcc_units(extradata: bytes) -> tuple[int, list[bytes]]:
    at, units = 23, []
    for _ in range(extradata[22]):
        count = int.from_bytes(extradata[at + 1:at + 3], "big")
        at += 3
        for _ in range(count):
            size = int.from_bytes(extradata[at:at + 2], "big")
            units.append(extradata[at + 2:at + 2 + size])
            at += 2 + size
    return (extradata[21] & 3) + 1, units


def layout(codec: str, extradata: bytes | None) -> Layout:
    """The layout of a source track, or MediaError when it is not length-prefixed with a header (an
    MPEG-TS recording carries Annex B and nothing to copy the parameter sets from)."""
    if not extradata or extradata[0] != 1:
        raise MediaError(f"{codec} stored without an avcC/hvcC header (Annex B)")
    try:
        size, units = _avcc_units(extradata) if codec == "h264" else _hvcc_units(extradata)
    except IndexError:
        raise MediaError(f"{codec} header is malformed") from None
    return Layout(size, _prefixed(units, size))


def annexb_units(data: bytes) -> list[bytes]:
    """NAL units of an Annex B packet (start codes of three or four bytes, trailing zeros dropped)."""
    units, at = [], data.find(b"\x00\x00\x01")
    while at >= 0:
        nxt = data.find(b"\x00\x00\x01", at + 3)
        unit = data[at + 3:nxt if nxt >= 0 else len(data)]
        units.append(unit.rstrip(b"\x00") if nxt >= 0 else unit)
        at = nxt
    return [unit for unit in units if unit]


def from_annexb(data: bytes, length_size: int) -> bytes:
    """An encoder's Annex B packet rewritten as the source track stores NAL units."""
    return _prefixed(annexb_units(data), length_size)


def _first_slice(codec: str, data: bytes, length_size: int) -> int | None:
    """The header byte of the packet's first slice (skipping AUD, SEI and parameter sets), or None."""
    at = 0
    while at + length_size < len(data):
        size = int.from_bytes(data[at:at + length_size], "big")
        header = data[at + length_size]
        if (1 <= header & 0x1F <= 5) if codec == "h264" else ((header >> 1) & 0x3F) < 32:
            return header
        at += length_size + size
    return None


def starts_afresh(codec: str, data: bytes, length_size: int) -> bool:
    """Whether a keyframe's packet can follow re-encoded frames as it is: for H.264 an IDR picture. After a
    non-IDR I-frame (an open GOP's keyframe) FFmpeg orders the copied frames by picture order counts that
    continue from the re-encoded ones, so frames come out of order or are dropped (an end of sequence
    between them changes nothing): the head before it must end on an IDR with a matching lsb (`h264_poc`).
    HEVC's CRA pictures restart cleanly after a head."""
    if codec != "h264":
        return True
    header = _first_slice(codec, data, length_size)
    return header is not None and header & 0x1F == 5


def disposable(codec: str, data: bytes, length_size: int) -> bool:
    """Whether no other picture refers to this packet's (H.264 nal_ref_idc 0, HEVC's sub-layer non-reference
    types): a head's decoder can skip it when the picture itself is shown before the cut. With B-frames
    that is most B-frames of the GOP decoded only to reach the cut."""
    header = _first_slice(codec, data, length_size)
    if header is None:
        return False
    if codec == "h264":
        return header >> 5 == 0
    kind = (header >> 1) & 0x3F
    return kind <= 14 and kind % 2 == 0
