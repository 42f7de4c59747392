from __future__ import annotations

import pytest

from leap_core.errors import MediaError
from leap_core.media.speech import detect_speech
from tests.fixtures.media import LectureSpec, make_lecture

BOUND_TOLERANCE_S = 0.3


@pytest.mark.parametrize(
    "spec",
    [
        LectureSpec(),
        LectureSpec(noise_dbfs=-50),
        LectureSpec(hum_hz=50, noise_dbfs=-50),
        LectureSpec(video=False, extension="m4a"),
    ],
    ids=["clean", "pink-noise", "hum-and-noise", "audio-only"],
)
def test_speech_bounds_are_within_a_third_of_a_second_of_the_truth(spec: LectureSpec) -> None:
    lecture = make_lecture(spec)

    speech = detect_speech(lecture.path, lecture.duration)

    assert speech.spans[0][0] == pytest.approx(lecture.speech_start, abs=BOUND_TOLERANCE_S)
    assert speech.spans[-1][1] == pytest.approx(lecture.speech_end, abs=BOUND_TOLERANCE_S)


def test_noise_and_hum_alone_are_not_speech() -> None:
    silent = make_lecture(LectureSpec(sentences=(), head_silence=6.0, tail_silence=0.0,
                                      noise_dbfs=-50, hum_hz=50))

    assert detect_speech(silent.path, silent.duration).spans == []


def test_progress_reports_fractions_up_to_the_whole_file() -> None:
    lecture = make_lecture(LectureSpec())
    seen: list[float] = []

    detect_speech(lecture.path, lecture.duration, progress=seen.append)

    assert seen == sorted(seen)
    assert 0.9 <= seen[-1] <= 1.0


def test_video_without_audio_has_no_speech_to_detect() -> None:
    mute = make_lecture(LectureSpec(audio=False))
    with pytest.raises(MediaError, match="no audio stream"):
        detect_speech(mute.path, mute.duration)
