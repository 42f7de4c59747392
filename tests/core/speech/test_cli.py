"""`leap transcribe` and `leap topics` on a typer app built here, as the real `leap` registers them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import srt
import typer
import webvtt
from typer.testing import CliRunner

from leap_core.cli.speech import register
from leap_core.speech.transcript import Segment, Transcript
from tests.core.speech.fake_openai import fake_openai
from tests.fixtures.media import Lecture


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


@pytest.fixture(autouse=True)
def leap_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_transcribe_prints_json_and_writes_both_subtitle_files(
    app: typer.Typer, spoken_lecture: Lecture, tmp_path: Path, leap_home: Path
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "transcribe",
            str(spoken_lecture.path),
            "--json",
            "--srt",
            str(tmp_path / "a.srt"),
            "--vtt",
            str(tmp_path / "a.vtt"),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["language"] == "en"
    assert payload["duration"] == pytest.approx(spoken_lecture.duration, abs=0.1)
    assert set(payload["segments"][0]) == {"start", "end", "text"}
    assert "linear algebra" in payload["segments"][0]["text"].lower()
    cues = list(srt.parse((tmp_path / "a.srt").read_text()))
    assert len(cues) == len(webvtt.read(str(tmp_path / "a.vtt")).captions) > 0
    assert not list((leap_home / "work").iterdir())


def test_transcribe_shows_timestamped_lines_for_people(app: typer.Typer, spoken_lecture: Lecture) -> None:
    result = CliRunner().invoke(app, ["transcribe", str(spoken_lecture.path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("[0:0")
    assert "-- en," in result.stdout


def test_transcribe_with_the_openai_backend_uses_the_configured_endpoint(
    app: typer.Typer, spoken_lecture: Lecture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_openai() as server:
        monkeypatch.setenv("LEAP_OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
        result = CliRunner().invoke(app, ["transcribe", str(spoken_lecture.path), "--backend", "openai", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["segments"][0]["text"] == "Chunk 1 speaks."


def test_a_missing_file_is_one_line_and_exit_1(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["transcribe", str(tmp_path / "missing.mp4")])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "not found" in result.stderr


def test_an_unknown_backend_is_wrong_usage(app: typer.Typer, spoken_lecture: Lecture) -> None:
    result = CliRunner().invoke(app, ["transcribe", str(spoken_lecture.path), "--backend", "cloud"])
    assert result.exit_code == 2


def test_topics_prints_chapters_from_a_transcript_file(app: typer.Typer, tmp_path: Path) -> None:
    segments = [
        Segment(start=t, end=t + 5, text=f"Topic {t // 100} words about subject{t // 100} here.")
        for t in range(0, 400, 6)
    ]
    path = tmp_path / "transcript.json"
    path.write_text(
        Transcript(language="en", duration=400, backend="t", model="t", segments=segments).model_dump_json()
    )
    result = CliRunner().invoke(app, ["topics", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) == {"summary", "keywords", "chapters", "chapters_note", "slide_changes",
                                              "slides", "thumbnail"}
    human = CliRunner().invoke(app, ["topics", str(path)])
    assert human.exit_code == 0 and human.stdout.startswith("summary")


def test_topics_rejects_a_file_that_is_not_a_transcript(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text('{"hello": 1}')
    result = CliRunner().invoke(app, ["topics", str(path)])
    assert result.exit_code == 1
    assert "is not a LEAP transcript.json" in result.stderr
