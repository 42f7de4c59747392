from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from leap_core.errors import MediaError
from leap_core.media.ffmpeg import ffmpeg_binary
from leap_core.media.probe import Keyframes, keyframe_at_or_after, probe
from tests.fixtures.media import Lecture


def test_ffmpeg_binary_is_an_executable_even_without_a_system_ffmpeg() -> None:
    assert Path(ffmpeg_binary()).is_file()


def test_probe_describes_streams_codecs_and_duration_of_a_lecture(lecture: Lecture) -> None:
    info = probe(lecture.path)

    assert info.duration_s == pytest.approx(lecture.duration, abs=0.05)
    assert (info.has_video, info.has_audio) == (True, True)
    assert (info.video_codec, info.width, info.height, info.fps) == ("h264", 320, 240, 25.0)
    assert (info.audio_codec, info.sample_rate, info.channels) == ("aac", 16_000, 1)
    assert info.size_bytes == lecture.path.stat().st_size


def test_probe_describes_an_audio_only_recording(audio_lecture: Lecture) -> None:
    info = probe(audio_lecture.path)

    assert (info.has_video, info.has_audio, info.video_codec, info.fps) == (False, True, None, None)


def test_probe_reads_file_names_with_spaces_and_unicode(unicode_copy: Path) -> None:
    assert probe(unicode_copy).has_audio


def test_keyframes_are_found_at_or_after_a_cut(lecture: Lecture) -> None:
    # The fixture writes a keyframe every 50 frames (2 s at 25 fps).
    assert keyframe_at_or_after(lecture.path, "video", 0.0, 0.02) == 0.0
    assert keyframe_at_or_after(lecture.path, "video", 2.3, 0.02) == pytest.approx(4.0)
    assert keyframe_at_or_after(lecture.path, "video", 99.0, 0.02) is None


def test_keyframes_are_found_at_or_before_a_cut_from_one_open_file(lecture: Lecture) -> None:
    with Keyframes(lecture.path) as keyframes:
        assert keyframes.at_or_before(3.9, 0.02) == pytest.approx(2.0)
        assert keyframes.at_or_before(3.99, 0.02) == pytest.approx(4.0)
        assert keyframes.at_or_before(0.5, 0.02) == 0.0
        assert keyframes.at_or_after(2.3, 0.02) == pytest.approx(4.0)


def test_a_missing_file_is_reported_as_not_found(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not found"):
        probe(tmp_path / "nope.mp4")


def test_an_empty_file_is_reported_as_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(MediaError, match="empty"):
        probe(empty)


def test_a_text_file_renamed_to_mp4_is_not_a_media_file(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("lecture notes, not a video\n" * 100)
    with pytest.raises(MediaError, match="not a media file"):
        probe(fake)


def test_a_file_cut_short_is_reported_as_truncated(lecture: Lecture, tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(lecture.path.read_bytes()[: lecture.path.stat().st_size // 2])
    with pytest.raises(MediaError, match="truncated"):
        probe(cut)


def test_a_file_whose_index_promises_more_than_it_holds_is_truncated(
    lecture: Lecture, tmp_path: Path
) -> None:
    source = tmp_path / "faststart.mp4"
    # The index (moov) comes first, so the file opens; its media data then stops halfway.
    subprocess.run([ffmpeg_binary(), "-v", "error", "-i", str(lecture.path), "-c", "copy",
                    "-movflags", "+faststart", str(source)], check=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(MediaError, match="truncated"):
        probe(cut)


def test_media_with_zero_duration_is_refused(tmp_path: Path) -> None:
    zero = tmp_path / "zero.m4a"
    subprocess.run([ffmpeg_binary(), "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                    "-t", "0", "-c:a", "aac", str(zero)], check=True)
    with pytest.raises(MediaError, match="zero duration"):
        probe(zero)


def test_probe_error_names_the_file_not_ffmpeg(tmp_path: Path) -> None:
    fake = tmp_path / "my talk.mp4"
    shutil.copy(__file__, fake)
    with pytest.raises(MediaError) as caught:
        probe(fake)
    assert str(caught.value).startswith("my talk.mp4: ")
    assert "\n" not in str(caught.value)
