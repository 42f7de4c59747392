"""Generated lectures shared by the media tests (built once, cached by tests/fixtures/media.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.media import Lecture, LectureSpec, make_lecture

PAUSED = LectureSpec(gap=4.0, head_silence=3.0, tail_silence=3.0)
"""Three sentences four seconds apart: pauses mode has two pauses to remove."""


@pytest.fixture(scope="session")
def lecture() -> Lecture:
    return make_lecture(LectureSpec())


@pytest.fixture(scope="session")
def paused_lecture() -> Lecture:
    return make_lecture(PAUSED)


@pytest.fixture(scope="session")
def audio_lecture() -> Lecture:
    return make_lecture(LectureSpec(video=False, extension="m4a"))


@pytest.fixture
def unicode_copy(lecture: Lecture, tmp_path: Path) -> Path:
    target = tmp_path / "лекция 1 (final) ü.mp4"
    shutil.copy(lecture.path, target)
    return target
