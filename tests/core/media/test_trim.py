from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from leap_core.errors import MediaError
from leap_core.media.probe import probe
from leap_core.media.speech import detect_speech
from leap_core.media.trim import TrimConfig, TrimResult, trim
from tests.fixtures.media import Lecture, LectureSpec, make_lecture

FRAME = 1 / 25
SMALL = {"blank_min_speech_s": 3.0, "min_duration_s": 1.0}
"""The generated lectures hold ~10 s of speech, under the 30 s default that marks a recording blank."""


def small(**changes: Any) -> TrimConfig:
    return TrimConfig.model_validate({**SMALL, **changes})


def stream_spans(path: Path) -> dict[str, tuple[float, float]]:
    """(first presented timestamp, end) of each stream, from its decoded frames (encoder priming excluded)."""
    spans: dict[str, tuple[float, float]] = {}
    with av.open(str(path)) as container:
        for stream in container.streams:
            frames: list[Any] = list(container.decode(stream))
            last = frames[-1]
            end = (last.pts + (last.duration or 0)) * stream.time_base if stream.type == "video" else (
                last.time + last.samples / last.sample_rate)
            spans[stream.type] = (frames[0].time, float(end))
            container.seek(0)
    return spans


def gray_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.int16) for f in container.decode(video=0)]


def kept_duration(result: TrimResult) -> float:
    return sum(end - start for start, end in result.kept)


def source_index(result: TrimResult, output_index: int) -> int:
    """Which source frame an output frame should be, following the kept spans."""
    remaining = output_index
    for start, end in result.kept:
        frames = round((end - start) / FRAME)
        if remaining < frames:
            return round(start / FRAME) + remaining
        remaining -= frames
    raise IndexError(output_index)


def assert_frame_accurate(source: Path, result: TrimResult) -> None:
    """Every output frame is the source frame the cut list names (closer to it than to its neighbours)."""
    assert result.output_path is not None
    original, written = gray_frames(source), gray_frames(result.output_path)
    assert len(written) == round(kept_duration(result) / FRAME)
    for index, frame in enumerate(written):
        expected = source_index(result, index)
        error = {k: np.abs(frame - original[k]).mean() for k in (expected - 1, expected, expected + 1)
                 if 0 <= k < len(original)}
        assert min(error, key=error.__getitem__) == expected, f"output frame {index}"


def assert_in_sync(result: TrimResult) -> None:
    assert result.output_path is not None
    spans = stream_spans(result.output_path)
    assert spans["video"][0] == pytest.approx(0.0, abs=1e-6)
    assert spans["video"][1] == pytest.approx(kept_duration(result), abs=FRAME / 2)
    assert spans["audio"][0] == pytest.approx(0.0, abs=FRAME)
    assert result.output_duration == pytest.approx(kept_duration(result), abs=FRAME)


def test_head_tail_keeps_one_second_around_the_speech(lecture: Lecture, tmp_path: Path) -> None:
    result = trim(lecture.path, tmp_path / "trimmed.mp4", small())

    assert result.status == "ok"
    assert result.speech_start == pytest.approx(lecture.speech_start, abs=0.3)
    assert result.speech_end == pytest.approx(lecture.speech_end, abs=0.3)
    assert len(result.kept) == 1
    assert result.kept[0][0] == pytest.approx(lecture.speech_start - 1.0, abs=0.3)
    assert result.kept[0][1] == pytest.approx(lecture.speech_end + 1.0, abs=0.3)
    assert result.output_path == tmp_path / "trimmed.mp4"
    assert_in_sync(result)


def test_head_tail_smart_cut_is_frame_accurate_and_in_sync(lecture: Lecture, tmp_path: Path) -> None:
    # Speech starts at 4.0 s, so the cut at 3.0 s is mid-GOP (keyframes every 2 s): a smart cut.
    result = trim(lecture.path, tmp_path / "trimmed.mp4", small())

    assert result.method == "smart_cut"
    assert_frame_accurate(lecture.path, result)


def test_a_cut_on_a_keyframe_is_a_plain_stream_copy(lecture: Lecture, tmp_path: Path) -> None:
    # margin 2.0 puts the cut exactly on the keyframe at 2.0 s.
    result = trim(lecture.path, tmp_path / "trimmed.mp4", small(margin_s=2.0))

    assert result.kept[0][0] == pytest.approx(2.0)
    assert result.method == "copy"
    assert_frame_accurate(lecture.path, result)


def test_pauses_mode_removes_long_pauses_and_keeps_margins(paused_lecture: Lecture, tmp_path: Path) -> None:
    config = small(mode="pauses", min_pause_s=2.0, margin_s=0.5)

    result = trim(paused_lecture.path, tmp_path / "trimmed.mp4", config)

    assert len(result.kept) == len(paused_lecture.speech_spans)
    for (start, end), (truth_start, truth_end) in zip(result.kept, paused_lecture.speech_spans, strict=True):
        assert start == pytest.approx(truth_start - 0.5, abs=0.3)
        assert end == pytest.approx(truth_end + 0.5, abs=0.3)
    assert result.method == "smart_cut"
    assert_in_sync(result)
    assert_frame_accurate(paused_lecture.path, result)


def test_pauses_mode_keeps_the_speech_where_the_cut_list_says(
    paused_lecture: Lecture, tmp_path: Path
) -> None:
    """Audio sync across many cuts: speech found in the output sits where the kept spans put it."""
    config = small(mode="pauses", min_pause_s=2.0, margin_s=0.5)
    result = trim(paused_lecture.path, tmp_path / "trimmed.mp4", config)
    assert result.output_path is not None

    found = detect_speech(result.output_path, result.output_duration).spans
    source = detect_speech(paused_lecture.path, paused_lecture.duration).spans
    offset = 0.0
    for start, end in result.kept:
        expected = next(s for s, _ in source if start <= s < end) - start + offset
        onset = next(s for s, _ in found if offset <= s < offset + end - start)
        assert onset == pytest.approx(expected, abs=FRAME)
        offset += end - start


def test_keyframe_snap_starts_every_span_on_a_keyframe_in_its_pause_and_copies_it_all(
    paused_lecture: Lecture, tmp_path: Path
) -> None:
    # Keyframes every 2 s, pauses of 4 s less two 0.5 s margins: each cut can reach a keyframe in the pause.
    config = small(mode="pauses", min_pause_s=2.0, margin_s=0.5, keyframe_snap_s=2.0)

    result = trim(paused_lecture.path, tmp_path / "trimmed.mp4", config)

    assert len(result.kept) == len(paused_lecture.speech_spans)
    for (start, end), (truth_start, truth_end) in zip(result.kept, paused_lecture.speech_spans, strict=True):
        assert start % 2.0 == pytest.approx(0.0, abs=1e-6)
        assert truth_start - 0.5 - 2.0 <= start <= truth_start - 0.5 + FRAME
        assert end == pytest.approx(truth_end + 0.5, abs=0.3)
    assert result.method == "copy"
    assert_in_sync(result)
    assert_frame_accurate(paused_lecture.path, result)


def test_reencode_is_available_as_an_explicit_fallback(paused_lecture: Lecture, tmp_path: Path) -> None:
    config = small(mode="pauses", min_pause_s=2.0, margin_s=0.5, method="reencode")

    result = trim(paused_lecture.path, tmp_path / "trimmed.mp4", config)

    assert (result.method, result.method_reason) == ("reencode", "the template asks for a re-encode")
    assert_in_sync(result)
    assert_frame_accurate(paused_lecture.path, result)


def test_audio_only_input_stays_audio(audio_lecture: Lecture, tmp_path: Path) -> None:
    result = trim(audio_lecture.path, tmp_path / "trimmed.mp4", small())

    assert result.output_path == tmp_path / "trimmed.m4a"
    assert not (tmp_path / "trimmed.mp4").exists()
    info = probe(result.output_path)
    assert (info.has_video, info.has_audio) == (False, True)
    assert info.duration_s == pytest.approx(kept_duration(result), abs=0.07)


def test_audio_only_pauses_are_cut_exactly(audio_lecture: Lecture, tmp_path: Path) -> None:
    config = small(mode="pauses", min_pause_s=0.3, margin_s=0.1)

    result = trim(audio_lecture.path, tmp_path / "trimmed.m4a", config)

    assert len(result.kept) > 1
    assert result.output_duration == pytest.approx(kept_duration(result), abs=0.07)


def test_too_little_speech_is_blank_and_writes_nothing(lecture: Lecture, tmp_path: Path) -> None:
    result = trim(lecture.path, tmp_path / "trimmed.mp4", TrimConfig())  # ~10 s of speech < 30 s

    assert result.status == "blank"
    assert "speech" in result.method_reason
    assert result.speech_seconds == pytest.approx(10, abs=1.5)
    assert list(tmp_path.iterdir()) == []


def test_a_recording_shorter_than_the_minimum_is_blank_before_any_analysis(
    lecture: Lecture, tmp_path: Path
) -> None:
    result = trim(lecture.path, tmp_path / "trimmed.mp4", TrimConfig(min_duration_s=60))

    assert (result.status, result.speech_start, result.speech_seconds) == ("blank", None, 0.0)
    assert "shorter" in result.method_reason


def test_noise_without_speech_is_blank(tmp_path: Path) -> None:
    silent = make_lecture(LectureSpec(sentences=(), head_silence=6.0, tail_silence=0.0, noise_dbfs=-50))

    assert trim(silent.path, tmp_path / "out.mp4", small()).status == "blank"


def test_video_without_audio_is_a_media_error(tmp_path: Path) -> None:
    mute = make_lecture(LectureSpec(audio=False))
    with pytest.raises(MediaError, match="has no audio stream"):
        trim(mute.path, tmp_path / "out.mp4", small())


@pytest.mark.parametrize("content", [b"", b"not a video\n" * 50], ids=["empty", "text"])
def test_bad_input_fails_cleanly_and_leaves_no_output(content: bytes, tmp_path: Path) -> None:
    bad = tmp_path / "in" / "bad.mp4"
    bad.parent.mkdir()
    bad.write_bytes(content)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    with pytest.raises(MediaError):
        trim(bad, out_dir / "trimmed.mp4", small())
    assert list(out_dir.iterdir()) == []


def test_unicode_and_spaces_in_names_are_handled(unicode_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "папка вывода 1" / "урезано 1.mp4"

    result = trim(unicode_copy, out, small())

    assert result.output_path == out
    assert probe(out).has_video
    assert [p.name for p in out.parent.iterdir()] == [out.name]


def test_quotes_in_names_survive_the_smart_cut_list(lecture: Lecture, tmp_path: Path) -> None:
    source = tmp_path / "it's Bob's 'lecture'.mp4"
    shutil.copy(lecture.path, source)

    result = trim(source, tmp_path / "Bob's trimmed.mp4", small())

    assert result.method == "smart_cut"
    assert_in_sync(result)


def test_the_cut_list_is_also_a_markdown_table(paused_lecture: Lecture, tmp_path: Path) -> None:
    result = trim(paused_lecture.path, tmp_path / "trimmed.mp4", small(mode="pauses", min_pause_s=2.0))

    rows = str(result.to_dict()["cut_list_md"]).splitlines()

    assert len(rows) == 2 + len(result.kept)
    assert rows[2].startswith(f"| 1 | {result.kept[0][0]:.3f} | {result.kept[0][1]:.3f} |")


def test_an_existing_output_is_replaced_whole(lecture: Lecture, tmp_path: Path) -> None:
    out = tmp_path / "trimmed.mp4"
    shutil.copy(lecture.path, out)

    result = trim(lecture.path, out, small())

    assert probe(out).duration_s == pytest.approx(result.output_duration)


def test_result_serialises_to_json_with_the_documented_keys(lecture: Lecture, tmp_path: Path) -> None:
    result = trim(lecture.path, tmp_path / "trimmed.mp4", small())

    data = json.loads(json.dumps(result.to_dict()))

    assert {"speech_start", "speech_end", "kept", "output_duration", "method", "status", "speech_ratio",
            "method_reason", "input_duration", "speech_seconds", "mode"} <= set(data)
    assert data["kept"] == [[round(s, 3), round(e, 3)] for s, e in result.kept]


def test_progress_runs_from_analysis_to_done(lecture: Lecture, tmp_path: Path) -> None:
    seen: list[float] = []

    trim(lecture.path, tmp_path / "trimmed.mp4", small(), progress=seen.append)

    assert seen == sorted(seen)
    assert seen[-1] == 1.0


def test_trim_config_round_trips_through_template_json() -> None:
    config = TrimConfig(mode="pauses", min_pause_s=5)

    assert TrimConfig.model_validate_json(config.model_dump_json()) == config
