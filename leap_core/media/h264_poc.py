"""H.264 picture order counts at the bit level: what an open GOP's keyframe needs from the head before it.

An open GOP's keyframe (x264 `open-gop=1`) is a non-IDR I-frame: its picture order count (POC, the
display order) is its `pic_order_cnt_lsb` taken relative to the previous reference picture's. After a
re-encoded head that relation is lost: FFmpeg orders the copied frames against the head's and drops
the ones that come out "late". So a head before such a keyframe ends on an IDR picture (every earlier
frame is output before it) whose `pic_order_cnt_lsb` is set here to the keyframe's minus one: the
keyframe's POC then comes out one above the IDR's, and every copied frame after it above that, for
any value of the keyframe's lsb (a plain IDR has lsb 0, and a keyframe lsb in the upper half of its
range would come out negative, before the head's last frame). `pic_order_cnt_lsb` has a fixed length,
so rewriting it changes no other bit of the slice (CABAC or CAVLC alike); only the emulation
prevention bytes are redone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leap_core.errors import MediaError

_ESCAPED = re.compile(b"\x00\x00\x03")
_TO_ESCAPE = re.compile(b"\x00\x00(?=[\x00-\x03])")
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})
SPS, PPS, IDR, NON_IDR = 7, 8, 5, 1


def rbsp(nal: bytes) -> bytes:
    """A NAL unit's payload with its emulation prevention bytes removed."""
    return _ESCAPED.sub(b"\x00\x00", nal)


def escaped(payload: bytes) -> bytes:
    """The inverse of `rbsp`: a 0x03 after every two zero bytes followed by a byte of 0-3."""
    return _TO_ESCAPE.sub(b"\x00\x00\x03", payload)


class _Bits:
    """An MSB-first reader over the start of an RBSP (headers are short; slice data is never read)."""

    def __init__(self, data: bytes) -> None:
        self._value, self._size, self.at = int.from_bytes(data, "big"), len(data) * 8, 0

    def u(self, count: int) -> int:
        if self.at + count > self._size:
            raise MediaError("H.264 header is truncated")
        self.at += count
        return (self._value >> (self._size - self.at)) & ((1 << count) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise MediaError("H.264 header is malformed")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code & 1 else -(code // 2)


@dataclass(frozen=True)
class Sps:
    """The sequence parameter set fields a slice header's start depends on."""

    log2_max_frame_num: int
    poc_type: int
    log2_max_poc_lsb: int
    frame_mbs_only: bool
    separate_colour_planes: bool
    max_ref_frames: int


def _skip_scaling_lists(bits: _Bits, count: int) -> None:
    for index in range(count):
        if bits.u(1):
            last, size = 8, 16 if index < 6 else 64
            for _ in range(size):
                if last:
                    last = (last + bits.se()) % 256
                if not last:
                    break


def parse_sps(nal: bytes) -> Sps:
    """Read an SPS NAL unit (its one-byte NAL header included)."""
    bits = _Bits(rbsp(nal[1:]))
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    separate = False
    if profile in _HIGH_PROFILES:
        chroma = bits.ue()
        if chroma == 3:
            separate = bool(bits.u(1))
        bits.ue(), bits.ue(), bits.u(1)  # bit depths, qpprime_y_zero_transform_bypass
        if bits.u(1):
            _skip_scaling_lists(bits, 12 if chroma == 3 else 8)
    log2_max_frame_num = bits.ue() + 4
    poc_type = bits.ue()
    log2_max_poc_lsb = bits.ue() + 4 if poc_type == 0 else 0
    if poc_type == 1:
        bits.u(1), bits.se(), bits.se()
        for _ in range(bits.ue()):
            bits.se()
    max_ref_frames = bits.ue()
    bits.u(1), bits.ue(), bits.ue()  # gaps_in_frame_num_value_allowed, picture size in macroblocks
    return Sps(log2_max_frame_num, poc_type, log2_max_poc_lsb, bool(bits.u(1)), separate, max_ref_frames)


def _lsb_position(payload: bytes, nal_type: int, sps: Sps) -> int:
    """Bit offset of `pic_order_cnt_lsb` in a slice's RBSP (after the NAL header byte)."""
    if sps.poc_type != 0:
        raise MediaError(f"H.264 picture order count type {sps.poc_type} has no pic_order_cnt_lsb")
    bits = _Bits(payload[:64])
    bits.ue(), bits.ue(), bits.ue()  # first_mb_in_slice, slice_type, pic_parameter_set_id
    if sps.separate_colour_planes:
        bits.u(2)
    bits.u(sps.log2_max_frame_num)
    if not sps.frame_mbs_only and bits.u(1):
        bits.u(1)  # bottom_field_flag
    if nal_type == IDR:
        bits.ue()  # idr_pic_id
    return bits.at


def poc_lsb(nal: bytes, sps: Sps) -> int:
    """The `pic_order_cnt_lsb` of a slice NAL unit."""
    payload = rbsp(nal[1:65])
    at = _lsb_position(payload, nal[0] & 0x1F, sps)
    return _Bits(payload).u(at + sps.log2_max_poc_lsb) & ((1 << sps.log2_max_poc_lsb) - 1)


def with_poc_lsb(nal: bytes, sps: Sps, value: int) -> bytes:
    """A slice NAL unit with its `pic_order_cnt_lsb` set to `value` (same length in bits)."""
    width = sps.log2_max_poc_lsb
    if not 0 <= value < 1 << width:
        raise MediaError(f"pic_order_cnt_lsb {value} does not fit in {width} bits")
    payload = rbsp(nal[1:])
    at = _lsb_position(payload, nal[0] & 0x1F, sps)
    first, last = at // 8, (at + width - 1) // 8
    span = last - first + 1
    chunk = int.from_bytes(payload[first:last + 1], "big")
    shift = span * 8 - (at % 8) - width
    chunk = (chunk & ~(((1 << width) - 1) << shift)) | (value << shift)
    return nal[:1] + escaped(payload[:first] + chunk.to_bytes(span, "big") + payload[last + 1:])


def lsb_after(keyframe_lsb: int, sps: Sps) -> int:
    """The lsb an IDR before a keyframe with `keyframe_lsb` gets: below it by one more than twice the
    source's reference frames. The decoder takes the nearer wrap of the lsb, so the keyframe's POC comes out
    above the IDR's whatever its value; and the frame_num gap from the IDR (0) to the keyframe makes
    FFmpeg insert up to that many stand-in reference frames, each 2 above the last from the IDR's POC
    (`h264_field_start`): below the keyframe's POC they stay out of the copied B-frames' reference lists,
    built by POC, whose indices would otherwise shift (wrong pictures, "co located POCs unavailable")."""
    below = 2 * max(sps.max_ref_frames, 1) + 1
    if below >= 1 << (sps.log2_max_poc_lsb - 1):
        raise MediaError(f"H.264 open GOP with {sps.max_ref_frames} reference frames and a "
                         f"{sps.log2_max_poc_lsb}-bit picture order count: no room to reset it before a keyframe")
    return (keyframe_lsb - below) % (1 << sps.log2_max_poc_lsb)

def _units(data: bytes, length_size: int) -> list[bytes]:
    found, at = [], 0
    while at + length_size <= len(data):
        size = int.from_bytes(data[at:at + length_size], "big")
        found.append(data[at + length_size:at + length_size + size])
        at += length_size + size
    return found


def keyframe_lsb(data: bytes, length_size: int, sps: Sps) -> int:
    """The `pic_order_cnt_lsb` of a packet's first slice."""
    for unit in _units(data, length_size):
        if unit and unit[0] & 0x1F in (NON_IDR, IDR):
            return poc_lsb(unit, sps)
    raise MediaError("H.264 keyframe packet holds no slice")


def source_sps(parameter_sets: bytes, length_size: int) -> Sps:
    """The (first) SPS of a track's length-prefixed parameter sets."""
    for unit in _units(parameter_sets, length_size):
        if unit and unit[0] & 0x1F == SPS:
            return parse_sps(unit)
    raise MediaError("the H.264 header holds no SPS")


def idr_with_lsb(data: bytes, length_size: int, lsb: int) -> bytes:
    """An encoder's IDR packet (its SPS in-band, length-prefixed) with every slice's `pic_order_cnt_lsb` set
    to `lsb`; MediaError when the packet's SPS has no such field or one too narrow for the value."""
    found = _units(data, length_size)
    sps = next((parse_sps(unit) for unit in found if unit and unit[0] & 0x1F == SPS), None)
    if sps is None:
        raise MediaError("the re-encoded IDR carries no SPS")
    if sps.poc_type != 0 or lsb >= 1 << sps.log2_max_poc_lsb:
        raise MediaError(f"the head encoder's picture order counts (type {sps.poc_type}, "
                         f"{sps.log2_max_poc_lsb} bits) cannot hold lsb {lsb}")
    rewritten = [with_poc_lsb(unit, sps, lsb) if unit and unit[0] & 0x1F == IDR else unit for unit in found]
    return b"".join(len(unit).to_bytes(length_size, "big") + unit for unit in rewritten)
