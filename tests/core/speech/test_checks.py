from pathlib import Path

from leap_core.speech.checks import subtitle_problems
from leap_core.speech.subtitles import Cue, write_srt, write_vtt


def _files(tmp_path: Path, cues: list[Cue]) -> tuple[Path, Path]:
    return write_srt(cues, tmp_path / "s.srt"), write_vtt(cues, tmp_path / "s.vtt")


def test_well_formed_subtitles_inside_the_video_have_no_problems(tmp_path: Path) -> None:
    assert subtitle_problems(*_files(tmp_path, [Cue(0, 2, ("Hi.",)), Cue(2, 4, ("Bye.",))]), duration=5) == []


def test_a_cue_past_the_end_of_the_video_is_reported(tmp_path: Path) -> None:
    assert subtitle_problems(*_files(tmp_path, [Cue(0, 6, ("Hi.",))]), duration=5) == [
        "a cue ends after the video (5.0 s)"
    ]


def test_overlaps_and_long_lines_are_reported(tmp_path: Path) -> None:
    cues = [Cue(0, 3, ("x" * 50,)), Cue(2, 4, ("a", "b", "c"))]
    assert subtitle_problems(*_files(tmp_path, cues), duration=5) == [
        "cues overlap",
        "a cue has more than 2 lines or a line over 42 characters",
    ]


def test_a_file_that_does_not_parse_is_reported(tmp_path: Path) -> None:
    srt_path, vtt_path = _files(tmp_path, [Cue(0, 2, ("Hi.",))])
    vtt_path.write_text("not a vtt file")
    assert subtitle_problems(srt_path, vtt_path, duration=5) == ["s.vtt does not parse: MalformedFileError"]
