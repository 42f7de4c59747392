from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leap_core.media.trim import TrimConfig, trim
from leap_core.media.verify import check_trimmed
from tests.fixtures.media import Lecture

SMALL = TrimConfig(blank_min_speech_s=3.0, min_duration_s=1.0)


def test_a_fresh_trim_matches_its_cut_list_and_is_in_sync(lecture: Lecture, tmp_path: Path) -> None:
    result = trim(lecture.path, tmp_path / "trimmed.mp4", SMALL)
    assert result.output_path is not None

    check = check_trimmed(result.output_path, result.kept)

    assert check.passed
    assert check.tolerance_s == pytest.approx(1 / 25)
    assert check.to_dict()["in_sync"] is True


def test_a_file_longer_than_its_cut_list_fails_on_duration(lecture: Lecture, tmp_path: Path) -> None:
    result = trim(lecture.path, tmp_path / "trimmed.mp4", SMALL)
    assert result.output_path is not None
    shutil.copy(lecture.path, result.output_path)

    check = check_trimmed(result.output_path, result.kept)

    assert (check.passed, check.duration_matches) == (False, False)
    assert check.duration - check.expected_duration == pytest.approx(lecture.duration - sum(
        end - start for start, end in result.kept), abs=0.1)


def test_audio_only_output_is_held_to_the_audio_packet_grain(audio_lecture: Lecture, tmp_path: Path) -> None:
    result = trim(audio_lecture.path, tmp_path / "trimmed.m4a", SMALL)
    assert result.output_path is not None

    check = check_trimmed(result.output_path, result.kept)

    assert check.passed
    assert check.av_offset is None
