"""Steady-state speed and accuracy of decoder settings on the held-out natural voices (issue 18, ADR 0020).

    .venv/bin/python bench/decoders.py                       # the ADR's rows
    .venv/bin/python bench/decoders.py tiny.en:5:w base:1:n  # model:beam:w|n (word timestamps on/off)
    .venv/bin/python bench/decoders.py --concat ...          # the four voices as one file (batches fill)

Each model is loaded once and warmed, so the real-time factor is decoding alone (what a long lecture
sees), unlike `bench/transcribe.py`'s fresh process per row. The voices are Flite's recorded-speaker
voices reading the judging text (`tests.fixtures.voices.NATURAL_JUDGING`): nobody tuned on them. The
reference row is LEAP's English default (tiny.en, beam 5, word timestamps), measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leap_core.speech.accuracy import word_error_rate  # noqa: E402
from leap_core.speech.models import model_path  # noqa: E402
from tests.fixtures.voices import JUDGING_TEXT, NATURAL_JUDGING, speak  # noqa: E402

RATE = 16_000
DEFAULT = ["tiny.en:5:w", "tiny.en:5:n", "base:1:w", "base:1:n", "base:5:n"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", default=DEFAULT, help="model:beam:w|n")
    parser.add_argument("--concat", action="store_true", help="one file of all four voices")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    clips = [(v.name, decode_audio(str(speak(v, JUDGING_TEXT).path), RATE)) for v in NATURAL_JUDGING]
    texts = {name: JUDGING_TEXT for name, _ in clips}
    if args.concat:
        clips = [("concat", np.concatenate([pcm for _, pcm in clips]))]
        texts = {"concat": " ".join([JUDGING_TEXT] * len(NATURAL_JUDGING))}
    audio_s = sum(len(pcm) for _, pcm in clips) / RATE
    print(f"{audio_s:.1f} s of audio, load {os.getloadavg()[0]:.1f}\n")
    print("| model | beam | word timestamps | wall RTF | CPU s | WER per voice |")
    print("|---|---|---|---|---|---|")
    for config in args.configs:
        name, beam, words = config.split(":")
        pipeline = BatchedInferencePipeline(
            WhisperModel(model_path(name), device="cpu", compute_type="int8", cpu_threads=args.threads)
        )
        pipeline.transcribe(clips[0][1][: RATE * 20], language="en", beam_size=int(beam), batch_size=8)
        wall, cpu = time.perf_counter(), time.process_time()
        wers = []
        for voice, pcm in clips:
            segments, _ = pipeline.transcribe(
                pcm, language="en", beam_size=int(beam), batch_size=8, word_timestamps=words == "w"
            )
            text = " ".join(segment.text for segment in segments)
            wers.append(f"{voice} {100 * word_error_rate(texts[voice], text):.1f} %")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"| {name} | {beam} | {'on' if words == 'w' else 'off'} | {audio_s / wall:.1f}x | {cpu:.1f} | "
            f"{', '.join(wers)} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
