from __future__ import annotations

from pathlib import Path

import pytest

from leap_core.errors import MediaError
from leap_core.media.speech import detect_speech, speech_bounds
from tests.fixtures.media import DEFAULT_SENTENCES, Lecture, LectureSpec, make_lecture

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


LONG_SILENCES = LectureSpec(sentences=DEFAULT_SENTENCES * 6, head_silence=45.0, tail_silence=45.0,
                            noise_dbfs=-50, video=False, extension="m4a")
"""A minute of speech between silences longer than a 30 s analysis chunk: speech_bounds can skip some."""


def lecture_speech(lecture: Lecture) -> float:
    return sum(end - start for start, end in lecture.speech_spans)


def test_speech_bounds_finds_the_same_ends_while_reading_less_than_the_file() -> None:
    lecture = make_lecture(LONG_SILENCES)

    bounds = speech_bounds(lecture.path, lecture.duration, enough_speech_s=3.0)

    assert bounds.spans[0][0] == pytest.approx(lecture.speech_start, abs=BOUND_TOLERANCE_S)
    assert bounds.spans[-1][1] == pytest.approx(lecture.speech_end, abs=BOUND_TOLERANCE_S)
    assert bounds.analysed_s < lecture.duration
    assert bounds.speech_seconds == pytest.approx(lecture_speech(lecture), rel=0.2)  # middle estimated


def test_speech_bounds_reads_the_whole_file_when_it_holds_too_little_speech_to_stop_early() -> None:
    lecture = make_lecture(LONG_SILENCES)
    full = detect_speech(lecture.path, lecture.duration)

    bounds = speech_bounds(lecture.path, lecture.duration, enough_speech_s=600.0)

    # Read in shorter blocks than detect_speech, so the model's state resets at other places.
    assert bounds.spans[0][0] == pytest.approx(full.spans[0][0], abs=0.1)
    assert bounds.spans[-1][1] == pytest.approx(full.spans[-1][1], abs=0.1)
    assert bounds.speech_seconds == pytest.approx(full.speech_seconds, rel=0.05)
    assert bounds.analysed_s == pytest.approx(lecture.duration, abs=0.1)


def test_a_long_blank_recording_is_judged_from_samples_not_read_whole(tmp_path: Path) -> None:
    from leap_core.media.trim import TrimConfig, trim
    from tests.fixtures.media import make_blank

    path = make_blank(1200)
    for mode in ("head_tail", "pauses"):
        result = trim(path, tmp_path / "out.mp4", TrimConfig(mode=mode))
        assert result.status == "blank"
        assert "samples spread over the recording" in result.method_reason
        assert result.analysed_seconds < 1200 / 5  # heard a fraction of it
        assert not (tmp_path / "out.mp4").exists()


def test_sampling_suspects_speech_and_leaves_the_verdict_to_a_full_read(paused_lecture: Lecture) -> None:
    from leap_core.media import speech

    assert speech.sampled_blank(paused_lecture.path, speech.SAMPLING_MIN_S, 5.0) is None


def test_a_lecture_with_plenty_of_speech_is_judged_from_its_ends_and_samples() -> None:
    """The head stops at the first speech: the ends and the middle's samples already hold 30 s of speech."""
    lecture = make_lecture(LectureSpec(sentences=DEFAULT_SENTENCES * 18, head_silence=12.0, tail_silence=12.0,
                                       noise_dbfs=-50, video=False, extension="m4a"))

    bounds = speech_bounds(lecture.path, lecture.duration, enough_speech_s=30.0)

    assert bounds.spans[0][0] == pytest.approx(lecture.speech_start, abs=BOUND_TOLERANCE_S)
    assert bounds.spans[-1][1] == pytest.approx(lecture.speech_end, abs=BOUND_TOLERANCE_S)
    assert bounds.analysed_s < lecture.duration / 2
    assert bounds.speech_seconds == pytest.approx(lecture_speech(lecture), rel=0.25)


def test_too_little_speech_heard_at_the_ends_reads_the_head_on_until_there_is_enough() -> None:
    lecture = make_lecture(LONG_SILENCES)
    quick = speech_bounds(lecture.path, lecture.duration, enough_speech_s=1.0)

    bounds = speech_bounds(lecture.path, lecture.duration, enough_speech_s=40.0)

    assert bounds.analysed_s > quick.analysed_s  # read on past the first speech
    assert bounds.spans[0][0] == pytest.approx(lecture.speech_start, abs=BOUND_TOLERANCE_S)
    assert bounds.spans[-1][1] == pytest.approx(lecture.speech_end, abs=BOUND_TOLERANCE_S)
    assert sum(end - start for start, end in bounds.spans) >= 40.0 - 2.0  # heard, not extrapolated
    assert bounds.speech_seconds == pytest.approx(lecture_speech(lecture), rel=0.2)
