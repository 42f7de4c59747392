"""Clean cuts: pauses mode fades the audio out and in at every cut, so the waveform does not jump (click).

The input carries a steady 60 Hz hum (a sine at -18 dBFS) under the speech: wherever a pause is cut out,
a hard cut joins the hum at two unrelated phases, a jump of up to twice its amplitude between two
samples; with the fades the step between neighbouring samples stays that of the hum itself.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np

from leap_core.media.trim import TrimConfig, TrimResult, trim
from tests.core.media.conftest import PAUSED
from tests.fixtures.media import make_lecture

BOUND = 0.02
"""Largest step between neighbouring samples allowed near a cut: the hum's own is 0.003 at 16 kHz, a
hard cut through it up to 0.25."""
WINDOW_S = 0.003


def decoded(path: Path) -> tuple[np.ndarray, int, float]:
    """The output's audio as mono samples, its rate, and when the first sample plays."""
    with av.open(str(path)) as container:
        frames = list(container.decode(audio=0))
        rate = frames[0].sample_rate
        pcm = np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames])
        return pcm, rate, float(frames[0].time or 0.0)


def steps_at_cuts(result: TrimResult) -> list[float]:
    """The largest sample-to-sample step within a few ms of each cut of the output."""
    assert result.output_path is not None
    pcm, rate, first = decoded(result.output_path)
    cuts, at = [], 0.0
    for start, end in result.kept[:-1]:
        at += end - start
        cuts.append(at)
    steps = []
    for cut in cuts:
        middle = round((cut - first) * rate)
        near = pcm[middle - round(WINDOW_S * rate):middle + round(WINDOW_S * rate)]
        steps.append(float(np.abs(np.diff(near)).max()))
    return steps


def test_every_cut_of_pauses_mode_is_faded_and_a_hard_cut_is_not(tmp_path: Path) -> None:
    lecture = make_lecture(dataclasses.replace(PAUSED, hum_hz=60.0))
    settings = {"mode": "pauses", "loudness": "off", "blank_min_speech_s": 3.0, "min_duration_s": 1.0}

    faded = trim(lecture.path, tmp_path / "faded.mp4", TrimConfig.model_validate(settings))
    hard = trim(lecture.path, tmp_path / "hard.mp4", TrimConfig.model_validate({**settings, "fade_ms": 0}))

    assert len(faded.kept) == len(hard.kept) >= 3
    assert max(steps_at_cuts(faded)) < BOUND
    assert max(steps_at_cuts(hard)) > BOUND
    assert faded.to_dict()["audio_fade_ms"] == 10.0
