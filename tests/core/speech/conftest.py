"""Shared speech fixtures: one generated lecture with known words, transcribed once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from leap_core.speech.local_whisper import LocalWhisperTranscriber
from leap_core.speech.transcript import Transcript
from tests.fixtures.media import Lecture, LectureSpec, make_lecture

SENTENCES = (
    "Welcome to the lecture on linear algebra.",
    "Today we study vectors, matrices and how they transform space.",
    "A matrix multiplies a vector to give another vector.",
    "The determinant tells us how much a transformation scales area.",
    "If the determinant is zero, the matrix cannot be inverted.",
    "Next week we will talk about eigenvalues and eigenvectors.",
)


@pytest.fixture(scope="session")
def spoken_lecture() -> Lecture:
    return make_lecture(LectureSpec(sentences=SENTENCES, video=False, extension="m4a"))


@pytest.fixture(scope="session")
def local_transcript(spoken_lecture: Lecture, tmp_path_factory: pytest.TempPathFactory) -> Transcript:
    work: Path = tmp_path_factory.mktemp("whisper-work")
    return LocalWhisperTranscriber().transcribe(spoken_lecture.path, work_dir=work)
