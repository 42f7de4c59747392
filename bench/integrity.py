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

`--drills N` measures instead lectures that really repeat themselves (dictation, language drills): each of
the four held-out Flite voices reads two or three sentences of the judging text N times over (a different
pair or triple per voice). A 30 s window of such speech compresses like a decoder loop, so LEAP drops it;
rows: "whole gaps" (the gate's repair with only whole-gap clips, `gate.MAX_SHORT_CLIPS = 0`: the code
before short clips), "LEAP" (the real stage), and plain sequential faster-whisper (the bundled model,
beam 5, Silero VAD: the accuracy reference, no gate), each with coverage, WER and wall seconds.
`--voices fresh` reads the drills with four speakers the drill work never listened to (DRILL_VOICES).

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
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leap_core.config import Settings  # noqa: E402
from leap_core.errors import StageError  # noqa: E402
from leap_core.pipeline import work  # noqa: E402
from leap_core.speech import gate  # noqa: E402
from leap_core.speech.accuracy import word_error_rate  # noqa: E402
from leap_core.speech.gate import apply_gate, at_pauses, read_speech, segment_cue  # noqa: E402
from leap_core.speech.integrity import covered, overlap  # noqa: E402
from leap_core.speech.transcribers import make_transcriber  # noqa: E402
from leap_core.speech.transcript import Transcript  # noqa: E402
from tests.fixtures.nonspeech import BreakLecture, BreakSpec, cues_inside, make_break_lecture, stage_input  # noqa: E402
from tests.fixtures.voices import GLOSSARY_FRESH, JUDGING_TEXT, NATURAL_JUDGING, Voice, flite_available, speak  # noqa: E402

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


DRILLS = ((0, 3), (3, 2), (5, 3), (8, 2))
"""Per voice: the first judging sentence of its drill and how many sentences it repeats."""
DRILL_VOICES: dict[str, tuple[Voice, ...]] = {"judging": NATURAL_JUDGING, "fresh": GLOSSARY_FRESH[:4]}
"""`--voices`: the four held-out Flite voices, or four speakers none of the drill work listened to (two
Flite, two espeak-ng; the glossary's third set)."""


def _drill_stage(audio: Path, scratch: Path, settings: Settings) -> tuple[str, float, Transcript | None, str]:
    staged = stage_input(scratch, audio, settings)
    started = time.perf_counter()
    try:
        output = work.transcribe(staged)
    except StageError as exc:
        return f"FAILED: {exc}", time.perf_counter() - started, None, "-"
    wall = time.perf_counter() - started
    return "passed", wall, Transcript.model_validate_json(staged.files.transcript.read_text()), \
        f"{output.metadata['coverage_pct']:.1f}"


def drills(repeats: int, voices: Sequence[Voice], settings: Settings) -> None:
    """Lectures that repeat their sentences: the gate before short clips, with them, and the reference."""
    from faster_whisper import WhisperModel

    from leap_core.speech.models import tiny_en_path

    sentences = [s.strip() + "." for s in JUDGING_TEXT.split(".") if s.strip()]
    reference = WhisperModel(str(tiny_en_path()), device="cpu", compute_type="int8",
                             cpu_threads=settings.whisper_threads)
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("| voice | drill | audio s | run | result | VAD speech covered | WER | wall s |")
    print("|---|---|---|---|---|---|---|---|")
    for voice, (first, count) in zip(voices, DRILLS, strict=True):
        text = " ".join(sentences[first:first + count] * repeats)
        spoken = speak(voice, text)
        label = f"{voice.name} | {count} sentences x {repeats} | {spoken.duration:.0f}"
        scratch = Path(tempfile.mkdtemp(prefix="leap-drills-"))
        try:
            budget, gate.MAX_SHORT_CLIPS = gate.MAX_SHORT_CLIPS, 0
            try:
                note, wall, heard, cover = _drill_stage(spoken.path, scratch / "whole", settings)
            finally:
                gate.MAX_SHORT_CLIPS = budget
            wer = f"{word_error_rate(text, heard.text):.1%}" if heard else "-"
            print(f"| {label} | whole gaps | {note} | {cover} % | {wer} | {wall:.1f} |", flush=True)
            note, wall, heard, cover = _drill_stage(spoken.path, scratch / "leap", settings)
            wer = f"{word_error_rate(text, heard.text):.1%}" if heard else "-"
            print(f"| {label} | **LEAP** | {note} | {cover} % | {wer} | {wall:.1f} |", flush=True)
            started = time.perf_counter()
            segments, _ = reference.transcribe(str(spoken.path), language="en", beam_size=5, vad_filter=True)
            said = " ".join(segment.text for segment in segments)
            wall = time.perf_counter() - started
            print(f"| {label} | sequential beam 5 | no gate | | {word_error_rate(text, said):.1%} | {wall:.1f} |",
                  flush=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pause-s", type=float, default=600.0)
    parser.add_argument("--filler-s", type=float, default=120.0)
    parser.add_argument("--drills", type=int, metavar="N", help="lectures repeating their sentences N times")
    parser.add_argument("--voices", choices=sorted(DRILL_VOICES), default="judging", help="the drills' speakers")
    args = parser.parse_args()
    if not flite_available():
        raise SystemExit("Flite is not installed: apt-get install flite")
    settings = Settings()
    if args.drills:
        drills(args.drills, DRILL_VOICES[args.voices], settings)
        return
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
