"""Slide-aware chapters on generated slide-deck lectures: `python bench/slide_chapters.py`.

Each lecture is a deck (tests/fixtures/slides.py: white and coloured slides, bullet builds, fades from
black, a moving test-pattern inset) with one espeak-ng paragraph per slide, so the true chapter starts
are the slide changes. Transcribed by the local backend (tiny.en), then chaptered three ways, scored by
F1 of chapter starts after 0:00 within ±15 s of a true change:

- text only: the TextTiling chapters LEAP made before (the reference, same run);
- slides only: the detector's changes (leap_core.media.slides) taken as chapters;
- slide-aware: text boundaries snapped to slide changes plus long slides (what the topics stage does).

The detector's thresholds were set on the TUNING deck; the JUDGING deck has other subjects, another
voice, slide lengths and size.
"""

from __future__ import annotations

import sys
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leap_core.media.slides import slide_changes  # noqa: E402
from leap_core.speech.local_topics import LocalTopicExtractor  # noqa: E402
from leap_core.speech.local_whisper import LocalWhisperTranscriber  # noqa: E402
from leap_core.speech.transcript import Transcript  # noqa: E402
from tests.fixtures.media import CACHE_DIR, ffmpeg  # noqa: E402
from tests.fixtures.slides import SlideSpec, make_deck  # noqa: E402
from tests.fixtures.voices import VOICES, Voice, speak  # noqa: E402

WINDOW = 15.0
PAD = 1.5
TUNING_DECK = {
    "Vectors": ["A vector has a direction and a magnitude.", "We add vectors tip to tail on the board.",
                "The vector space contains every linear combination.", "Scaling a vector changes its length.",
                "Two vectors are orthogonal when their dot product vanishes."],
    "Matrices": ["A matrix is a grid of numbers.", "Matrix multiplication combines rows with columns.",
                 "The identity matrix leaves every input unchanged.", "A square matrix may have an inverse.",
                 "The transpose of a matrix swaps rows and columns."],
    "Eigenvalues": ["An eigenvector keeps its direction under the map.", "The eigenvalue says how far it stretches.",
                    "The characteristic polynomial yields the eigenvalues.",
                    "Diagonal forms make eigenvalues easy to read.", "Repeated eigenvalues need extra care."],
    "Probability": ["Probability measures uncertainty about outcomes.", "A random variable maps outcomes to numbers.",
                    "The expected value is a weighted average.", "Independent events multiply their probability.",
                    "Variance measures the spread around the mean."],
    "Graphs": ["A graph has nodes joined by edges.", "A path walks from node to node along edges.",
               "A tree is a connected graph without cycles.", "Breadth first search visits neighbours in layers.",
               "The degree of a node counts its edges."],
    "Sorting": ["Sorting puts a list of keys in order.", "Merge sort splits the list and merges the halves.",
                "Quick sort partitions around a pivot element.", "Insertion sort is fast on nearly sorted input.",
                "A stable sort keeps equal keys in their order."],
}
JUDGING_DECK = {
    "Replication": ["Replication keeps copies of the data on several servers.",
                    "Each replica applies the same writes in the same order.",
                    "A replica that falls behind serves stale reads.", "Replication protects data against a crash.",
                    "The copies live on different machines and racks."],
    "Elections": ["When the leader fails the followers hold an election.", "A candidate asks every node for a vote.",
                  "The candidate with a majority of votes becomes leader.", "Election timeouts are randomised.",
                  "A split vote simply starts another election."],
    "Caching": ["A cache keeps recent answers close to the client.", "A cache hit avoids the slow database.",
                "Eviction removes the least recently used entry.", "Stale cache entries need invalidation.",
                "The hit ratio tells how well the cache works."],
    "Compilers": ["A compiler translates source code into machine code.", "The parser builds a syntax tree.",
                  "Type checking rejects programs that misuse values.", "The optimiser removes dead code.",
                  "Register allocation maps variables to registers."],
    "Networks": ["Packets travel through routers across the network.", "Each router forwards packets by address.",
                 "Congestion makes queues grow at busy routers.", "Lost packets are sent again by the sender.",
                 "Latency is the time a packet takes to arrive."],
    "Security": ["Encryption hides a message from eavesdroppers.", "A password should never be stored in plain text.",
                 "Attackers guess weak passwords with dictionaries.", "Signatures prove who sent a message.",
                 "Keys must be rotated when they leak."],
    "Testing": ["A unit test checks one function in isolation.", "Integration tests run the real parts together.",
                "A flaky test fails without any change in the code.", "Coverage shows which lines the tests run.",
                "Regression tests keep fixed bugs fixed."],
}
ROUNDS = 3


def paragraph(sentences: list[str]) -> str:
    return " ".join(s for r in range(ROUNDS) for s in sentences[r % 5 :] + sentences[: r % 5])


def lecture(name: str, deck: dict[str, list[str]], voice: Voice, size: tuple[int, int]) -> tuple[Path, list[float]]:
    """The deck video with its spoken paragraphs, and the true slide starts."""
    spoken = [speak(voice, paragraph(s)) for s in deck.values()]
    audio = CACHE_DIR / "slides" / f"{name}-{voice.name}.wav"
    if not audio.exists():
        audio.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(audio), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16_000)
            for part in spoken:
                with wave.open(str(part.path)) as wav:
                    out.writeframes(wav.readframes(wav.getnframes()))
                out.writeframes(b"\0\0" * int(PAD * 16_000))
    specs = [SlideSpec(round(p.duration + PAD, 3), title, (f"{title} basics", f"{title} in practice"))
             for p, title in zip(spoken, deck, strict=True)]
    built = make_deck(specs, size, audio)
    return built.path, built.starts[1:]


def f1(found: list[float], truth: list[float]) -> float:
    found = [f for f in found if f > 0]
    free = list(truth)
    hits = 0
    for f in found:
        near = [t for t in free if abs(t - f) <= WINDOW]
        if near:
            free.remove(min(near, key=lambda t: abs(t - f)))
            hits += 1
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 1.0
    return 2 * precision * recall / (precision + recall) if hits else 0.0


def main() -> None:
    print("| deck | voice | slides | text only (reference) | slides only | slide-aware | detect s | chapters |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    voices = {v.name: v for v in VOICES}
    for name, deck, voice, size in (("tuning", TUNING_DECK, voices["us-160"], (320, 180)),
                                    ("judging", JUDGING_DECK, voices["rp-175-high"], (640, 360))):
        video, truth = lecture(name, deck, voice, size)
        work = CACHE_DIR / "slides" / f"work-{name}"
        transcript: Transcript = LocalWhisperTranscriber().transcribe(video, work_dir=work)
        started = time.perf_counter()
        changes = [c.at for c in slide_changes(video)]
        detect = time.perf_counter() - started
        extractor = LocalTopicExtractor()
        text_only = [c.start for c in extractor.extract(transcript).chapters]
        aware = extractor.extract(transcript, slides=changes)
        print(f"| {name} | {voice.name} | {len(truth) + 1} | {f1(text_only, truth):.2f} | {f1(changes, truth):.2f} "
              f"| {f1([c.start for c in aware.chapters], truth):.2f} | {detect:.1f} | "
              f"{', '.join(f'{c.start:.0f}' for c in aware.chapters)} (true {', '.join(f'{t:.0f}' for t in truth)}) |")
    print(f"\nffmpeg: {ffmpeg()}")


if __name__ == "__main__":
    main()
