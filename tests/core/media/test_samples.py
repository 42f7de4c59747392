from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from leap_core.media.audio import AudioSettings, AudioWriter
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

    writer = AudioWriter(lecture.path, info, [0], AudioSettings(loudness="off"))
    writer(MANY_SPANS, out)

    assert probe(out).duration_s == pytest.approx(total(MANY_SPANS), abs=0.03)
    assert not writer.report.copied


def test_each_span_fades_in_and_out_and_keeps_its_length(lecture: Lecture) -> None:
    rate, spans = 16_000, [(4.0, 4.5), (5.0, 6.0)]
    plain = np.frombuffer(b"".join(kept_pcm(lecture.path, spans, rate, channels=1)), dtype=np.float32)

    faded = np.frombuffer(b"".join(kept_pcm(lecture.path, spans, rate, channels=1, fade_s=0.01)), dtype=np.float32)

    assert len(faded) == len(plain) == 24_000
    ramp = (np.arange(160) + 0.5) / 160
    np.testing.assert_allclose(faded[:160], plain[:160] * ramp, atol=1e-6)
    np.testing.assert_allclose(faded[7840:8000], plain[7840:8000] * ramp[::-1], atol=1e-6)
    np.testing.assert_array_equal(faded[160:7840], plain[160:7840])
    np.testing.assert_allclose(faded[8000:8160], plain[8000:8160] * ramp, atol=1e-6)
