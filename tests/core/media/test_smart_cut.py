"""The smart cut on video as people record it: B-frames, open GOPs, OBS's long GOPs, HEVC, phone VFR.

Every output frame is matched against the source frame the cut list says it is (by presentation time,
so variable frame rates are covered), the output decodes without error, and the audio ends with the video.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest

from leap_core.media import bitstream, h264_poc, smart_cut
from leap_core.media.audio import AudioWriter
from leap_core.media.gops import Gops
from leap_core.media.probe import probe
from leap_core.media.trim import TrimConfig, TrimResult, trim
from tests.fixtures.media import ENCODINGS, Lecture, LectureSpec, make_lecture

B_FRAME_ENCODINGS = [name for name in ENCODINGS if name != "ultrafast"]
CONFIG = {"blank_min_speech_s": 3.0, "min_duration_s": 1.0, "min_pause_s": 2.0, "margin_s": 0.5}


def spec(encoding: str) -> LectureSpec:
    """Three sentences 4 s apart: pauses mode cuts twice, at points that are not keyframes (GOP 2 s)."""
    fps = 30 if encoding in ("obs", "phone_vfr") else 25
    return LectureSpec(encoding=encoding, gap=4.0, head_silence=3.0, tail_silence=3.0, fps=fps, gop=2 * fps)


@pytest.fixture(scope="module", params=list(ENCODINGS))
def encoded(request: pytest.FixtureRequest) -> tuple[str, Lecture]:
    return request.param, make_lecture(spec(request.param))


def frames(path: Path) -> list[tuple[float, np.ndarray]]:
    """(time shown, grey picture) of every frame; decoding errors raise."""
    with av.open(str(path)) as container:
        container.streams.video[0].codec_context.options = {"err_detect": "explode"}
        return [(float(f.time), f.to_ndarray(format="gray").astype(np.int16)) for f in container.decode(video=0)]


def audio_end(path: Path) -> float:
    """Where the file says its audio ends: the last packet's time plus its duration (AAC pads its last
    frame to 1024 samples; the MP4 sample duration is the part that plays)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        last = max((p for p in container.demux(stream) if p.pts is not None), key=lambda p: p.pts or 0)
        assert last.pts is not None and stream.time_base is not None
        return float((last.pts + last.duration) * stream.time_base)


def expected_frames(source: list[tuple[float, np.ndarray]], kept: list[tuple[float, float]], fps: float
                    ) -> list[tuple[float, int]]:
    """(output time, index of the source frame) for every frame the kept spans hold."""
    quarter = 0.25 / fps
    expected, offset = [], 0.0
    for start, end in kept:
        for index, (at, _) in enumerate(source):
            if start - quarter <= at < end - quarter:
                expected.append((at - start + offset, index))
        offset += end - start
    return expected


def bundled_ffmpeg_frames(path: Path) -> int:
    """How many video frames the ffmpeg LEAP ships (imageio-ffmpeg) decodes; any decoder complaint fails.
    It is a different FFmpeg build from PyAV's, and the one a user's `ffmpeg` command would be."""
    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-xerror", "-err_detect", "explode",
                          "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"], capture_output=True, text=True)
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr[-500:]
    return sum(1 for line in run.stdout.splitlines() if line.startswith("0,"))


def assert_frames_exact(lecture: Lecture, out: Path, kept: list[tuple[float, float]], fps: float
                        ) -> list[tuple[float, np.ndarray]]:
    """Every frame of `out` is the source frame `kept` names, in PyAV and in the bundled ffmpeg alike.
    `fps` is the nominal rate; frames within a quarter of the *average* frame of a cut belong after it."""
    source, written = frames(lecture.path), frames(out)
    expected = expected_frames(source, kept, probe(lecture.path).fps or fps)
    assert len(written) == len(expected)
    assert bundled_ffmpeg_frames(out) == len(expected)
    for (at, picture), (expected_at, index) in zip(written, expected, strict=True):
        assert at == pytest.approx(expected_at, abs=0.5 / fps)
        near = [k for k in (index - 1, index, index + 1) if 0 <= k < len(source)]
        error = {k: np.abs(picture - source[k][1]).mean() for k in near}
        assert min(error, key=error.__getitem__) == index, f"output frame at {at:.3f} s"
        assert error[index] < 4.0
    return written


def assert_cut_exactly(lecture: Lecture, result: TrimResult, fps: float) -> None:
    assert result.output_path is not None
    written = assert_frames_exact(lecture, result.output_path, result.kept, fps)
    video_end = written[-1][0] + 1 / fps
    assert abs(audio_end(result.output_path) - video_end) <= 0.040
    assert result.output_duration == pytest.approx(sum(e - s for s, e in result.kept), abs=1 / fps)


@pytest.mark.parametrize("mode", ["pauses", "head_tail"])
def test_every_encoding_is_smart_cut_frame_exactly_and_in_sync(
    encoded: tuple[str, Lecture], mode: str, tmp_path: Path
) -> None:
    name, lecture = encoded
    result = trim(lecture.path, tmp_path / "out.mp4", TrimConfig.model_validate({**CONFIG, "mode": mode}))
    assert result.method == "smart_cut", result.method_reason
    assert ("with B-frames" in result.method_reason) == (name in B_FRAME_ENCODINGS)
    with Gops(lecture.path) as gops:  # the cuts the test makes are not on keyframes
        assert all(gops.at(gops.first_at_or_after(start) or 0) != pytest.approx(start) for start, _ in result.kept[1:])
    assert_cut_exactly(lecture, result, spec(name).fps)


def test_a_span_end_moved_to_a_clean_end_stays_in_its_margin(tmp_path: Path) -> None:
    lecture = make_lecture(spec("medium"))
    config = TrimConfig.model_validate({**CONFIG, "mode": "pauses"})
    result = trim(lecture.path, tmp_path / "out.mp4", config)
    for (_, end), (_, speech_end) in zip(result.kept, [(0, s[1]) for s in lecture.speech_spans], strict=False):
        assert end >= speech_end  # the margin, not the speech, pays for a clean end
    assert_cut_exactly(lecture, result, 25)


def test_open_gop_keyframes_show_frames_before_themselves() -> None:
    """The fixture really is open-GOP: frames stored after a keyframe are shown before it."""
    lecture = make_lecture(spec("open_gop"))
    with av.open(str(lecture.path)) as container:
        packets = [(p.pts, p.is_keyframe) for p in container.demux(video=0) if p.pts is not None]
    keys = [i for i, (_, key) in enumerate(packets) if key][1:]
    assert any(packets[i + 1][0] < packets[i][0] for i in keys)


@pytest.mark.parametrize("kept", [
    [(1.0, 6.0)],  # the file's first head, before a keyframe whose lsb is in the upper half (POC < 0 after a reset)
    [(2.0, 5.0), (8.0, 11.5)],  # output starts on a non-IDR keyframe; a span starts on one right after a copy
    [(4.0, 6.0), (6.5, 8.0), (10.0, 13.0)],  # a span re-encoded whole, then one starting on a keyframe
])
def test_open_gop_spans_cut_anywhere_are_frame_exact(kept: list[tuple[float, float]], tmp_path: Path) -> None:
    """The open-GOP cases the trim test does not reach: heads ending on an IDR with the keyframe's lsb."""
    lecture = make_lecture(spec("open_gop"))
    info = probe(lecture.path)
    writer = AudioWriter(lecture.path, info, [0], TrimConfig().audio())
    done = smart_cut.smart_cut(lecture.path, info, kept, tmp_path / "out.mp4", tmp_path, None, writer)
    assert done.reencoded_pieces < 2 * len(kept)
    assert_frames_exact(lecture, tmp_path / "out.mp4", done.spans, spec("open_gop").fps)


def test_a_pic_order_cnt_lsb_is_rewritten_in_place_through_emulation_prevention() -> None:
    sps = h264_poc.Sps(log2_max_frame_num=4, poc_type=0, log2_max_poc_lsb=6, frame_mbs_only=True,
                       separate_colour_planes=False, max_ref_frames=4)

    def idr(lsb: str) -> bytes:
        """first_mb 0, slice_type 7, pps 0, frame_num 0000, idr_pic_id 0, lsb, four more header bits."""
        return int("1" + "0001000" + "1" + "0000" + "1" + lsb + "0000", 2).to_bytes(3, "big")

    nal = b"\x65" + idr("000000") + b"\x00\x00\x03\x01\xff"  # slice data holding an emulation prevention byte
    assert h264_poc.poc_lsb(nal, sps) == 0
    rewritten = h264_poc.with_poc_lsb(nal, sps, 0b101101)
    assert rewritten == b"\x65" + idr("101101") + b"\x00\x00\x03\x01\xff"
    assert h264_poc.poc_lsb(rewritten, sps) == 0b101101
    # an 18-bit lsb set to 0 ends the header in two zero bytes: before a 01 they need an emulation prevention byte
    wide = h264_poc.Sps(4, 0, 18, True, False, 4)
    header = int("1" + "0001000" + "1" + "0000" + "1" + "1" * 18, 2).to_bytes(4, "big")
    zeros = h264_poc.with_poc_lsb(b"\x65" + header + b"\x01\xff", wide, 0)
    assert zeros == b"\x65\x88\x84\x00\x00\x03\x01\xff" and h264_poc.poc_lsb(zeros, wide) == 0


def test_an_idr_before_an_open_gop_keyframe_sits_below_it_whatever_its_lsb() -> None:
    sps = h264_poc.Sps(4, 0, 6, True, False, 4)
    for lsb in range(64):
        reset = h264_poc.lsb_after(lsb, sps)
        ahead = (lsb - reset) % 64  # how far the decoder puts the keyframe after the IDR (nearer wrap)
        assert 2 * sps.max_ref_frames < ahead < 32


def test_annexb_packets_become_length_prefixed() -> None:
    packet = b"\x00\x00\x00\x01\x67AB\x00\x00\x01\x68C\x00\x00\x00\x01\x65DEF"
    assert bitstream.annexb_units(packet) == [b"\x67AB", b"\x68C", b"\x65DEF"]
    assert bitstream.from_annexb(packet, 4) == b"\x00\x00\x00\x03\x67AB\x00\x00\x00\x02\x68C\x00\x00\x00\x04\x65DEF"


def test_only_pictures_nothing_refers_to_are_disposable() -> None:
    """A head's decoder skips these before the cut; a reference picture skipped would corrupt the head."""
    def packet(*units: bytes) -> bytes:
        return b"".join(len(unit).to_bytes(4, "big") + unit for unit in units)

    aud, sei = b"\x09\xf0", b"\x06\x05\x01"
    assert bitstream.disposable("h264", packet(aud, sei, b"\x01\x9e"), 4)  # B, nal_ref_idc 0
    assert not bitstream.disposable("h264", packet(aud, b"\x21\x9a"), 4)  # B used as a reference (pyramid)
    assert not bitstream.disposable("h264", packet(b"\x65\x88"), 4)  # IDR
    assert bitstream.disposable("hevc", packet(b"\x4e\x01\x05", b"\x00\x01\xaf"), 4)  # SEI, TRAIL_N
    assert not bitstream.disposable("hevc", packet(b"\x02\x01\xaf"), 4)  # TRAIL_R
    assert not bitstream.disposable("hevc", packet(b"\x2a\x01\xaf"), 4)  # CRA
    assert bitstream.starts_afresh("h264", packet(aud, b"\x65\x88"), 4)
    assert not bitstream.starts_afresh("h264", packet(aud, b"\x41\x9a"), 4)  # open GOP's non-IDR I-frame


def test_probe_tells_a_variable_frame_rate_from_a_constant_one() -> None:
    assert probe(make_lecture(spec("phone_vfr")).path).vfr
    assert not any(probe(make_lecture(spec(name)).path).vfr for name in ("ultrafast", "medium", "obs", "hevc"))


def test_a_variable_frame_rate_survives_a_full_re_encode_frame_exactly(tmp_path: Path) -> None:
    lecture = make_lecture(spec("phone_vfr"))
    config = TrimConfig.model_validate({**CONFIG, "mode": "pauses", "method": "reencode"})
    result = trim(lecture.path, tmp_path / "out.mp4", config)
    assert result.method == "reencode"
    assert_cut_exactly(lecture, result, spec("phone_vfr").fps)


@pytest.mark.parametrize("name", ["obs", "open_gop"])
def test_a_head_encoded_early_is_the_one_the_cut_would_have_encoded(name: str, tmp_path: Path) -> None:
    """head_tail starts encoding its head as soon as the first speech is known (`smart_cut.EarlyHead`); the
    cut takes it only if its own plan makes the same job, and the output is frame-exact either way."""
    lecture = make_lecture(spec(name))
    info = probe(lecture.path)
    kept = [(2.2, info.duration_s - 2.0)]
    early = smart_cut.EarlyHead(lecture.path, info, kept[0][0], tmp_path)
    assert early.job is not None and early.job.start == kept[0][0]
    writer = AudioWriter(lecture.path, info, [0], TrimConfig().audio())
    done = smart_cut.smart_cut(lecture.path, info, kept, tmp_path / "out.mp4", tmp_path, None, writer, early=early)
    assert done.reencoded_pieces >= 1
    assert early.sink is not None and early.job.out in early.sink.encoded
    assert_frames_exact(lecture, tmp_path / "out.mp4", done.spans, spec(name).fps)


def test_a_head_encoded_early_for_another_start_is_thrown_away(tmp_path: Path) -> None:
    lecture = make_lecture(spec("medium"))
    info = probe(lecture.path)
    kept = [(2.2, info.duration_s - 2.0)]
    early = smart_cut.EarlyHead(lecture.path, info, 2.6, tmp_path)
    assert early.job is not None
    writer = AudioWriter(lecture.path, info, [0], TrimConfig().audio())
    done = smart_cut.smart_cut(lecture.path, info, kept, tmp_path / "out.mp4", tmp_path, None, writer, early=early)
    assert done.reencoded_pieces >= 1 and done.spans[0][0] == kept[0][0]
    assert_frames_exact(lecture, tmp_path / "out.mp4", done.spans, spec("medium").fps)


def test_no_early_head_for_a_start_on_a_keyframe(tmp_path: Path) -> None:
    lecture = make_lecture(spec("obs"))
    info = probe(lecture.path)
    with Gops(lecture.path) as gops:
        keyframe = gops.at(1)
    early = smart_cut.EarlyHead(lecture.path, info, keyframe, tmp_path)
    assert early.job is None and early.take(smart_cut.Encode(0, 1, tmp_path / "x")) is None
    early.close()


def test_a_recording_found_blank_after_its_head_was_started_leaves_nothing(tmp_path: Path) -> None:
    """One sentence at the start, then silence: head_tail finds the first speech (and starts the head) before
    the tail and the samples show too little speech; nothing is written, not even the output's folder."""
    lecture = make_lecture(LectureSpec(encoding="obs", sentences=("A single short sentence.",), head_silence=3.0,
                                       tail_silence=40.0, fps=30, gop=60))
    dst = tmp_path / "new-folder" / "out.mp4"
    result = trim(lecture.path, dst, TrimConfig(blank_min_speech_s=20.0))
    assert result.status == "blank" and result.speech_start is not None
    assert not dst.parent.exists()
