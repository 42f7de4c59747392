from __future__ import annotations

from pathlib import Path

import pytest

from leap_core.media.cut import encode_audio
from leap_core.media.probe import probe
from leap_core.media.samples import kept_pcm
from leap_core.media.spans import total
from tests.fixtures.media import Lecture

MANY_SPANS = [(i * 0.1, i * 0.1 + 0.05) for i in range(150)]
"""More cuts than ffmpeg's aselect expression parser accepts (about a hundred)."""


def test_kept_audio_holds_exactly_the_samples_of_every_span(lecture: Lecture) -> None:
    rate = 16_000

    pcm = b"".join(kept_pcm(lecture.path, MANY_SPANS, rate, channels=1))

    assert len(pcm) == 4 * sum(round(end * rate) - round(start * rate) for start, end in MANY_SPANS)


def test_audio_with_hundreds_of_cuts_encodes_to_their_total_length(lecture: Lecture, tmp_path: Path) -> None:
    info = probe(lecture.path)
    out = tmp_path / "audio.m4a"

    encode_audio(lecture.path, info, MANY_SPANS, out)

    assert probe(out).duration_s == pytest.approx(total(MANY_SPANS), abs=0.03)
