"""Loudness: the trimmed lecture lands at the template's target whatever level it was recorded at.

Judged on the held-out level set (other voices than the tuning ones, 48 kHz stereo, -35 and -10 LUFS),
metered on the written file by ffmpeg's `ebur128`, not by LEAP's own measurement.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from leap_core.errors import ValidationError
from leap_core.media.loudness import parse_summary
from leap_core.media.trim import TrimConfig, trim
from leap_core.templates import validate_trim
from tests.core.media.conftest import PAUSED
from tests.fixtures.loudness import JUDGING, Level, at_level, meter
from tests.fixtures.media import Lecture, make_lecture

SMALL = {"blank_min_speech_s": 3.0, "min_duration_s": 1.0}


def leveled(level: Level) -> Path:
    sentences = ("Replication keeps several copies of every record.", "A majority must agree on each write.",
                 "The leader forwards writes to its followers.")
    return at_level(make_lecture(dataclasses.replace(PAUSED, voice=level.voice, sentences=sentences,
                                                     noise_dbfs=-50.0)), level)


@pytest.mark.parametrize("level", JUDGING, ids=lambda level: f"{level.lufs:g}LUFS")
def test_pauses_output_is_at_the_target_loudness_and_under_the_true_peak_ceiling(level: Level, tmp_path: Path) -> None:
    src = leveled(level)
    assert meter(src).integrated == pytest.approx(level.lufs, abs=1.0)

    result = trim(src, tmp_path / "out.mp4", TrimConfig(mode="pauses", **SMALL)).to_dict()

    out = meter(tmp_path / "out.mp4")
    assert out.integrated == pytest.approx(-16.0, abs=1.0)
    assert out.true_peak <= -1.5
    assert result["loudness_applied"] is True and result["audio_copied"] is False
    assert result["loudness_before_lufs"] == pytest.approx(level.lufs, abs=1.0)
    assert result["loudness_after_lufs"] == pytest.approx(out.integrated, abs=0.3)
    assert result["audio_fade_ms"] == 10.0


def test_copied_audio_keeps_its_level_and_records_the_gain(tmp_path: Path) -> None:
    src = leveled(JUDGING[0])

    result = trim(src, tmp_path / "out.mp4", TrimConfig(**SMALL)).to_dict()

    assert result["audio_copied"] is True and result["loudness_applied"] is False
    assert result["loudness_gain_db"] == pytest.approx(-16.0 - float(result["loudness_before_lufs"]), abs=0.2)
    assert result["loudness_after_lufs"] is None
    assert "recorded, not applied" in str(result["loudness_reason"])
    assert meter(tmp_path / "out.mp4").integrated == pytest.approx(meter(src).integrated, abs=0.3)


def test_loudness_off_measures_nothing(paused_lecture: Lecture, tmp_path: Path) -> None:
    src = paused_lecture.path

    result = trim(src, tmp_path / "out.mp4", TrimConfig(mode="pauses", loudness="off", **SMALL)).to_dict()

    assert result["loudness_before_lufs"] is None and result["loudness_gain_db"] is None
    assert "loudness off" in str(result["loudness_reason"])


def test_a_silent_summary_parses_as_no_loudness() -> None:
    log = b"[Parsed_ebur128_0 @ 0x1] Summary:\n  I: -70.0 LUFS\n  LRA: 0.0 LU\n  Peak: -inf dBFS\n"

    measured = parse_summary(log)

    assert measured.integrated == -70.0 and measured.true_peak == float("-inf")
    assert measured.rounded("x")["x_true_peak_db"] is None


@pytest.mark.parametrize(("trim_settings", "why"), [
    ({"loudness": "loud"}, "loudness"), ({"loudness_target_lufs": 3}, "loudness_target_lufs"),
    ({"fade_ms": -1}, "fade_ms"), ({"volume": 2}, "volume"),
])
def test_bad_trim_settings_are_refused_with_the_field_named(trim_settings: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        validate_trim(trim_settings)


def test_good_trim_settings_are_stored_as_given() -> None:
    assert validate_trim({"loudness": "off", "mode": "pauses"}) == {"loudness": "off", "mode": "pauses"}
