"""Trim benchmark: speed against the physical floor and a full re-encode, VAD accuracy, peak memory.

    /tmp/venv/bin/python bench/trim.py --minutes 60     # the issue's 60-minute 720p lecture
    /tmp/venv/bin/python bench/trim.py --quick          # 3 minutes, for a smoke run

The lecture is generated (espeak speech with 5 s pauses, pink noise at -50 dBFS, testsrc2 720p H.264
without B-frames, AAC) and cached in tests/.media-cache. `unsilence` is compared when it is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leap_core.media.ffmpeg import ffmpeg_binary  # noqa: E402
from leap_core.media.trim import TrimConfig, trim  # noqa: E402
from tests.fixtures.media import DEFAULT_SENTENCES, LectureSpec, make_lecture  # noqa: E402

SECONDS_PER_SENTENCE = 8.5
"""About 3.5 s of speech plus a 5 s pause."""


def lecture_spec(minutes: float, **extra: object) -> LectureSpec:
    count = max(3, int(minutes * 60 / SECONDS_PER_SENTENCE))
    sentences = tuple(DEFAULT_SENTENCES[i % len(DEFAULT_SENTENCES)] for i in range(count))
    return LectureSpec(sentences=sentences, gap=5.0, head_silence=30.0, tail_silence=30.0, size="1280x720",
                       gop=250, **extra)  # type: ignore[arg-type]


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def trim_in_child(src: Path, dst: Path, mode: str) -> tuple[float, dict[str, object], float]:
    """Run trim in a fresh process so its peak RSS is its own: (seconds, result, peak MiB)."""
    code = ("import json,sys;from pathlib import Path;from leap_core.media.trim import trim, TrimConfig;"
            f"r=trim(Path(sys.argv[1]),Path(sys.argv[2]),TrimConfig(mode='{mode}'));print(json.dumps(r.to_dict()))")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(src), str(dst)], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    return elapsed, json.loads(out.stdout), peak


def accuracy(minutes: float) -> list[tuple[str, float, float]]:
    rows = []
    for name, extra in (("pink -50 dBFS", {"noise_dbfs": -50.0}), ("50 Hz hum + noise", {"hum_hz": 50.0,
                                                                                       "noise_dbfs": -50.0})):
        lecture = make_lecture(lecture_spec(min(minutes, 1.0), **extra))
        with tempfile.TemporaryDirectory() as tmp:
            result = trim(lecture.path, Path(tmp) / "o.mp4", TrimConfig(blank_min_speech_s=1))
        assert result.speech_start is not None and result.speech_end is not None
        start_error = abs(result.speech_start - lecture.speech_start)
        rows.append((name, start_error, abs(result.speech_end - lecture.speech_end)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="3 minutes instead of --minutes")
    args = parser.parse_args()
    minutes = 3.0 if args.quick else args.minutes
    ff = ffmpeg_binary()
    print(f"generating a {minutes:g}-minute 720p lecture (cached after the first run)...", file=sys.stderr)
    lecture = make_lecture(lecture_spec(minutes, noise_dbfs=-50.0))
    src = str(lecture.path)
    with tempfile.TemporaryDirectory() as tmp:
        head_tail_s, head_tail, peak_ht = trim_in_child(lecture.path, Path(tmp) / "ht.mp4", "head_tail")
        pauses_s, pauses, peak_p = trim_in_child(lecture.path, Path(tmp) / "p.mp4", "pauses")
        start, end = head_tail["kept"][0]  # type: ignore[index]
        decode_s = timed([ff, "-v", "error", "-i", src, "-vn", "-ac", "1", "-ar", "16000", "-f", "null", "-"])
        copy_s = timed([ff, "-v", "error", "-y", "-ss", str(start), "-i", src, "-t", str(end - start),
                        "-c", "copy", f"{tmp}/floor.mp4"])
        reencode_s = timed([ff, "-v", "error", "-y", "-i", src, "-c:v", "libx264", "-preset", "veryfast",
                            "-c:a", "aac", f"{tmp}/full.mp4"])
    floor = decode_s + copy_s
    rows = [
        ("floor: ffmpeg audio decode + stream copy", floor, "1.00x floor"),
        ("LEAP head_tail", head_tail_s, f"{head_tail_s / floor:.2f}x floor (goal <= 2x)"),
        ("full re-encode (x264 veryfast + AAC)", reencode_s, ""),
        ("LEAP pauses", pauses_s, f"{reencode_s / pauses_s:.1f}x faster than re-encode (goal >= 10x)"),
    ]
    if importlib.util.find_spec("unsilence") is None:
        rows.append(("unsilence", float("nan"), "not installed: not compared"))
    print(f"\n{minutes:g}-minute 720p H.264/AAC lecture, {lecture.path.stat().st_size / 2**20:.0f} MiB, "
          f"{len(lecture.speech_spans)} speech spans")
    print(f"{'run':44} {'seconds':>8}  note")
    for name, seconds, note in rows:
        print(f"{name:44} {seconds:8.2f}  {note}")
    spans = len(pauses["kept"])  # type: ignore[arg-type]
    print(f"\nmethods: head_tail={head_tail['method']}, pauses={pauses['method']} ({spans} spans)")
    print(f"peak RSS of either trim: {max(peak_ht, peak_p):.0f} MiB (goal <= 300 MiB)")
    print(f"\n{'accuracy':20} {'start error s':>14} {'end error s':>12}  (goal <= 0.3)")
    for name, start_err, end_err in accuracy(minutes):
        print(f"{name:20} {start_err:14.3f} {end_err:12.3f}")


if __name__ == "__main__":
    main()
