"""Generated upload material: any bytes make a valid upload for the fakes, and SRT is plain text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

VIDEO_SIZE = 2 * 1024 * 1024 + 12345  # two MiB and a ragged last chunk
SRT = (
    "1\n00:00:00,000 --> 00:00:02,000\nHello and welcome.\n\n"
    "2\n00:00:02,500 --> 00:00:04,000\nToday: bases.\n"
)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "trimmed.mp4"
    path.write_bytes(os.urandom(VIDEO_SIZE))
    return path


@pytest.fixture
def captions(tmp_path: Path) -> Path:
    path = tmp_path / "subtitles.srt"
    path.write_text(SRT, encoding="utf-8")
    return path
