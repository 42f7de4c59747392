"""`leap media` through typer's runner, mounted the way the `leap` root app mounts it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from leap_core.cli.media import app as media_app
from tests.fixtures.media import Lecture

root = typer.Typer()
root.add_typer(media_app, name="media")
runner = CliRunner()


def test_probe_json_describes_the_file(lecture: Lecture) -> None:
    result = runner.invoke(root, ["media", "probe", str(lecture.path), "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["video_codec"], data["has_audio"]) == ("h264", True)


def test_trim_json_gives_bounds_cut_list_and_method(unicode_copy: Path, tmp_path: Path) -> None:
    # The default 30 s of speech makes the ~10 s fixture blank: the command says so and writes nothing.
    out = tmp_path / "out put.mp4"

    result = runner.invoke(root, ["media", "trim", str(unicode_copy), str(out), "--mode", "pauses", "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "blank"
    assert {"speech_start", "speech_end", "kept", "output_duration", "method"} <= set(data)
    assert not out.exists()


def test_a_bad_file_exits_1_with_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("hello\n" * 40)

    result = runner.invoke(root, ["media", "trim", str(fake), str(tmp_path / "out.mp4")])

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: notes.mp4: not a media file (no audio or video can be read from it)"
    ]


def test_an_unknown_mode_is_a_usage_error(lecture: Lecture, tmp_path: Path) -> None:
    result = runner.invoke(root, ["media", "trim", str(lecture.path), str(tmp_path / "o.mp4"), "--mode", "x"])

    assert result.exit_code == 2
