"""The integrity gate on a lecture with a long break: `python bench/integrity.py [--pause-s 600 --filler-s 120]`.

Each case is a generated lecture (tests/fixtures/nonspeech.py, cached in tests/.media-cache/nonspeech):
a held-out Flite voice reads the first half of the judging lecture, then a break of `--pause-s` (digital
silence, or room tone: pink noise and 50 Hz hum under the whole file), then `--filler-s` of procedural
music or loud drifting noise, then the second half. Per case, in one process with the model loaded first:

- reference (no gate): LEAP's local backend alone (`LocalWhisperTranscriber`, tiny.en, as the stage builds
  it), in a fresh work folder: what the transcript would be without the gate;
- LEAP: the real `transcribe` stage (`leap_core.pipeline.work.transcribe`) on the same file as its trimmed
  input, in another fresh folder: decode, VAD, gate, repair, glossary, write;
- cut / repaired: the reference decode cut off halfway through the second part (an injected decoder that
  stops early), then the gate with the same real model repairing it from the stage's VAD spans.

Reported per row: cues (the subtitle cues students see) with their middle inside the generated
non-speech (goal 0), the share of the VAD's speech seconds that cues cover (goal >= 98 %), VAD speech
seconds the VAD itself found inside the non-speech, dropped cues, repaired spans, WER against the text
read, wall seconds and the real-time factor (audio seconds per wall second).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leap_core.config import Settings  # noqa: E402
from leap_core.errors import StageError  # noqa: E402
from leap_core.pipeline import work  # noqa: E402
from leap_core.speech.accuracy import word_error_rate  # noqa: E402
from leap_core.speech.gate import apply_gate, at_pauses, read_speech, segment_cue  # noqa: E402
from leap_core.speech.integrity import covered, overlap  # noqa: E402
from leap_core.speech.transcribers import make_transcriber  # noqa: E402
from leap_core.speech.transcript import Transcript  # noqa: E402
from tests.fixtures.nonspeech import BreakLecture, BreakSpec, cues_inside, make_break_lecture, stage_input  # noqa: E402
from tests.fixtures.voices import JUDGING_TEXT, NATURAL_JUDGING, flite_available  # noqa: E402

CASES: tuple[tuple[Literal["silence", "room"], Literal["music", "song", "noise"]], ...] = (
    ("silence", "music"), ("room", "music"), ("room", "song"), ("room", "noise"), ("silence", "noise"),
)


def halves(text: str) -> tuple[str, str]:
    sentences = [s.strip() + "." for s in text.split(".") if s.strip()]
    middle = len(sentences) // 2
    return " ".join(sentences[:middle]), " ".join(sentences[middle:])


def row(name: str, lecture: BreakLecture, transcript: Transcript, speech: list[tuple[float, float]],
        wall: float, dropped: int | str, repaired: int | str, note: str = "") -> str:
    seconds = sum(e - s for s, e in speech)
    coverage = 100 * covered([segment_cue(s) for s in transcript.segments], speech) / seconds if seconds else 100.0
    inside = len(cues_inside(transcript, lecture.non_speech))
    vad_inside = overlap(*lecture.non_speech, speech)
    wer = word_error_rate(lecture.text, transcript.text)
    return (f"{name:>10} {inside:>7} {coverage:>7.1f} {vad_inside:>7.1f} {dropped!s:>7} {repaired!s:>8} "
            f"{wer:>6.1%} {wall:>7.1f} {lecture.duration / wall:>6.1f}x {note}")


def cut_short(heard: Transcript, lecture: BreakLecture) -> tuple[Transcript, float]:
    """The decode as if the decoder had stopped halfway through the second part (HTTP 200, no warning)."""
    start, end = lecture.speech[1]
    stop = (start + end) / 2
    kept = [part for segment in heard.segments for part in at_pauses(segment) if part.end <= stop]
    return heard.model_copy(update={"segments": kept}), stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pause-s", type=float, default=600.0)
    parser.add_argument("--filler-s", type=float, default=120.0)
    args = parser.parse_args()
    if not flite_available():
        raise SystemExit("Flite is not installed: apt-get install flite")
    settings = Settings()
    first, second = halves(JUDGING_TEXT)
    transcriber = make_transcriber("local", model=settings.whisper_model, threads=settings.whisper_threads,
                                   language=settings.whisper_language)
    transcriber.warm()
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    header = (f"{'case':>22} {'voice':>14} {'audio s':>7} | {'run':>10} {'in non-sp':>7} {'cover %':>7} "
              f"{'VAD s in':>7} {'dropped':>7} {'repaired':>8} {'WER':>6} {'wall s':>7} {'RTF':>7}")
    print(header)
    print("-" * len(header))
    for index, (pause, filler) in enumerate(CASES):
        voice = NATURAL_JUDGING[index % len(NATURAL_JUDGING)]
        lecture = make_break_lecture(BreakSpec(voice, first, second, pause_s=args.pause_s, pause=pause,
                                               filler_s=args.filler_s, filler=filler))
        label = f"{pause} {args.pause_s:g}s+{filler} {args.filler_s:g}s"
        prefix = f"{label:>22} {voice.name:>14} {lecture.duration:>7.0f} | "
        scratch = Path(tempfile.mkdtemp(prefix="leap-integrity-"))
        try:
            started = time.perf_counter()
            heard = transcriber.transcribe(lecture.path, work_dir=scratch / "reference")
            reference_wall = time.perf_counter() - started
            staged = stage_input(scratch / "leap", lecture.path, settings)
            started = time.perf_counter()
            try:
                output = work.transcribe(staged)
                note = "passed"
            except StageError as exc:
                output, note = None, f"FAILED: {exc}"
            leap_wall = time.perf_counter() - started
            speech = read_speech(staged.files.speech)
            print(prefix + row("no gate", lecture, heard, speech, reference_wall, "-", "-"), flush=True)
            if output is None:
                print(prefix + f"{'LEAP':>10} {note}", flush=True)
                continue
            gated = Transcript.model_validate_json(staged.files.transcript.read_text())
            print(prefix + row("LEAP", lecture, gated, speech, leap_wall, output.metadata["dropped_cues"],
                               output.metadata["repaired_spans"], note), flush=True)
            stopped, at = cut_short(heard, lecture)
            print(prefix + row(f"cut {at:.0f}s", lecture, stopped, speech, reference_wall, "-", "-",
                               f"{apply_gate(stopped, speech).report.reason()}"), flush=True)
            started = time.perf_counter()
            fixed = apply_gate(stopped, speech, media=lecture.path, transcriber=transcriber,
                               work_dir=scratch / "repair")
            repair_wall = time.perf_counter() - started
            print(prefix + row("repaired", lecture, fixed.transcript, speech, repair_wall, len(fixed.report.dropped),
                               len(fixed.repaired), f"{fixed.report.reason()} (wall: the repair alone)"), flush=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
