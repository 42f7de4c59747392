"""Trim benchmark: speed against the physical floor and a full re-encode, VAD accuracy, peak memory.

    .venv/bin/python bench/trim.py --minutes 60                # the issue's 60-minute 720p lecture
    .venv/bin/python bench/trim.py --minutes 60 --pace dense   # a pause to cut after every sentence
    .venv/bin/python bench/trim.py --quick                     # 3 minutes, for a smoke run
    .venv/bin/python bench/trim.py --encodings 5               # every encoding of tests/fixtures, 5 min each
    .venv/bin/python bench/trim.py --blank-hours 3             # how long a 3-hour blank file takes to judge
    .venv/bin/python bench/trim.py --vfr-hours 2               # A/V offset after pause cutting 2 h of VFR
    .venv/bin/python bench/trim.py --loudness 10               # output loudness of -35 and -10 LUFS inputs

The lecture is generated (espeak sentences, 30 s of silence at each end, pink noise at -50 dBFS,
testsrc2 720p H.264 without B-frames, keyframes every 10 s, AAC) and cached in tests/.media-cache.
Its pace (`--pace`): `lecture` speaks sentences 0.6 s apart with an 8 s pause (writing on the board)
after every tenth, so pauses mode cuts about every 45 s; `dense` leaves 5 s after every sentence, a cut
every ~8.5 s, the worst case for a smart cut whose heads then cover most of the file.

Wall time is what the goals are about; CPU time (user+sys of every process) is printed too because on
a shared machine it is the steadier number. The full re-encode is timed on a slice of the file and
scaled to its length (encoding time is linear in frames). `unsilence` runs on the same file, whole,
through an `ffmpeg` shim that adapts its options to ffmpeg 7+; install it with
`pip install --no-deps unsilence==1.0.9` (it pins an old `rich` that LEAP's CLI cannot use).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leap_core.media import trim as trim_module  # noqa: E402
from leap_core.media.ffmpeg import ffmpeg_binary  # noqa: E402
from leap_core.media.trim import TrimConfig, trim  # noqa: E402
from tests.fixtures.media import (  # noqa: E402
    DEFAULT_SENTENCES,
    ENCODINGS,
    Lecture,
    LectureSpec,
    make_lecture,
)

PACES = {"lecture": {"gap": 0.6, "pause_every": 10, "pause": 8.0}, "dense": {"gap": 5.0}}
SECONDS_PER_SENTENCE = {"lecture": 4.4, "dense": 8.5}
"""About 3.5 s of speech plus what follows it: 0.6 s, or 8 s after every tenth; or always 5 s."""
MIB = 1024  # ru_maxrss is in KiB on Linux
SNAP_S = 10.0
"""keyframe_snap_s of the third run: one GOP of the generated lecture, so every cut whose pause holds a
keyframe is copied."""
RUNS = {"head_tail": ("head_tail", 0.0), "pauses": ("pauses", 0.0), "pauses+snap": ("pauses", SNAP_S)}

CHILD = """
import json, resource, sys, time
from pathlib import Path
from leap_core.media.trim import TrimConfig, trim
started = time.perf_counter()
result = trim(Path(sys.argv[1]), Path(sys.argv[2]), TrimConfig(mode=sys.argv[3], keyframe_snap_s=float(sys.argv[4])))
print(json.dumps({"result": result.to_dict(), "call_s": time.perf_counter() - started,
                  "rss_python": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""
"""`call_s` is the trim alone, as a run worker (which has imported LEAP already) pays it; the process's
wall time adds the cold imports."""
SHIM = """#!/bin/sh
exec /usr/bin/time -a -o "{log}" -f %M "{ffmpeg}" "$@"
"""
FFMPEG7_SHIM = """#!/bin/bash
set -o pipefail
args=()
skip=0
for arg in "$@"; do
  if [ $skip = 1 ]; then skip=0
  elif [ "$arg" = "-async" ]; then skip=1
  elif [ "$arg" = "-vsync" ]; then args+=(-fps_mode cfr); skip=1
  else args+=("$arg"); fi
done
"{ffmpeg}" "${{args[@]}}" 2>&1 | sed -u 's/\\[Parsed_silencedetect_[0-9]* @/[silencedetect @/'
"""
"""unsilence passes `-vsync 1 -async 1`, both removed in ffmpeg 7: the first becomes `-fps_mode cfr`, the second (audio
stretched to timestamps) dropped, which only spares it work; and it reads silencedetect's log lines by
their old prefix."""
"""An `ffmpeg` first on PATH (LEAP takes PATH first) that logs each run's peak RSS: a child's RUSAGE
cannot, since a spawned process inherits its parent's high-water mark until exec."""


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


@dataclass(frozen=True)
class TrimRun:
    timing: Timing
    result: dict[str, object]
    rss_python_mib: float
    rss_ffmpeg_mib: float
    call_s: float


def lecture_spec(minutes: float, pace: str = "lecture", **extra: object) -> LectureSpec:
    count = max(3, int(minutes * 60 / SECONDS_PER_SENTENCE[pace]))
    sentences = tuple(DEFAULT_SENTENCES[i % len(DEFAULT_SENTENCES)] for i in range(count))
    return LectureSpec(sentences=sentences, head_silence=30.0, tail_silence=30.0, size="1280x720", gop=250,
                       **PACES[pace], **extra)  # type: ignore[arg-type]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> tuple[Timing, str]:
    """Run a command to completion: its wall and CPU time (itself and every process it waited for)."""
    cpu, start = children_cpu(), time.perf_counter()
    done = subprocess.run(args, check=True, capture_output=True, text=True, cwd=cwd, env=env)
    return Timing(time.perf_counter() - start, children_cpu() - cpu), done.stdout


def trim_in_child(src: Path, dst: Path, run: str, tmp: Path) -> TrimRun:
    """A fresh process per trim, as a pipeline worker starts cold: imports and model load included."""
    shim, log = tmp / "rss-bin", tmp / f"rss-{dst.stem}.log"
    shim.mkdir(exist_ok=True)
    (shim / "ffmpeg").write_text(SHIM.format(log=log, ffmpeg=ffmpeg_binary()))
    (shim / "ffmpeg").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}
    mode, snap = RUNS[run]
    timing, out = timed([sys.executable, "-c", CHILD, str(src), str(dst), mode, str(snap)], env)
    data = json.loads(out)
    peaks = [int(line) for line in log.read_text().split() if line.isdigit()] if log.exists() else [0]
    return TrimRun(timing, data["result"], data["rss_python"] / MIB, max(peaks) / MIB, data["call_s"])


def floor(src: Path, kept: list[float], tmp: Path) -> tuple[Timing, Timing]:
    """ffmpeg decoding the audio only, and a stream copy of the kept span: no tool can do less."""
    ff = ffmpeg_binary()
    decode, _ = timed([ff, "-v", "error", "-i", str(src), "-vn", "-ac", "1", "-ar", "16000", "-f", "null", "-"])
    start, end = kept
    copy, _ = timed([ff, "-v", "error", "-y", "-ss", f"{start}", "-i", str(src), "-t", f"{end - start}",
                     "-c", "copy", str(tmp / "floor.mp4")])
    return decode, copy


def full_reencode(src: Path, duration: float, slice_s: float, preset: str, tmp: Path) -> Timing:
    """A whole-file re-encode, timed on the first `slice_s` seconds and scaled to the file."""
    timing, _ = timed([ffmpeg_binary(), "-v", "error", "-y", "-i", str(src), "-t", f"{slice_s}", "-c:v", "libx264",
                       "-preset", preset, "-c:a", "aac", str(tmp / f"full-{preset}.mp4")])
    scale = duration / min(slice_s, duration)
    return Timing(timing.wall * scale, timing.cpu * scale)


def unsilence_run(src: Path, tmp: Path) -> tuple[Timing | None, str]:
    """unsilence on the same file, or why it could not run (it shells out to `ffmpeg` on PATH)."""
    if importlib.util.find_spec("unsilence") is None:
        return None, "not installed"
    shim = tmp / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "ffmpeg").write_text(FFMPEG7_SHIM.format(ffmpeg=ffmpeg_binary()))
    (shim / "ffmpeg").chmod(0o755)
    code = ("import sys; from unsilence import Unsilence; u = Unsilence(sys.argv[1]); u.detect_silence(); "
            "u.render_media(sys.argv[2], silent_speed=100, drop_corrupted_intervals=False)")
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        timing, _ = timed([sys.executable, "-c", code, str(src), str(tmp / "unsilence.mp4")], env, cwd=tmp)
    except subprocess.CalledProcessError as exc:
        return None, f"failed: {str(exc.stderr).strip().splitlines()[-1][:70]}"
    return timing, ""


def accuracy() -> list[tuple[str, float, float]]:
    rows = []
    for name, extra in (("pink noise -50 dBFS", {"noise_dbfs": -50.0}),
                        ("50 Hz hum + pink noise", {"hum_hz": 50.0, "noise_dbfs": -50.0})):
        lecture = make_lecture(lecture_spec(1.0, **extra))
        with tempfile.TemporaryDirectory() as tmp:
            result = trim(lecture.path, Path(tmp) / "o.mp4", TrimConfig(blank_min_speech_s=1))
        assert result.speech_start is not None and result.speech_end is not None
        rows.append((name, abs(result.speech_start - lecture.speech_start),
                     abs(result.speech_end - lecture.speech_end)))
    return rows


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def ratio_row(name: str, timing: Timing, reference: Timing, note: str) -> str:
    return (f"| {name} | {timing.wall:.2f} | {timing.cpu:.2f} | {timing.wall / reference.wall:.2f}x | "
            f"{timing.cpu / reference.cpu:.2f}x | {note} |")


def speed_table(lecture: Lecture, runs: dict[str, TrimRun], tmp: Path, slice_s: float) -> list[str]:
    head_tail, pauses, snap = runs["head_tail"], runs["pauses"], runs["pauses+snap"]
    decode, copy = floor(lecture.path, head_tail.result["kept"][0], tmp)  # type: ignore[index]
    floor_t = Timing(decode.wall + copy.wall, decode.cpu + copy.cpu)
    veryfast = full_reencode(lecture.path, lecture.duration, slice_s, "veryfast", tmp)
    medium = full_reencode(lecture.path, lecture.duration, slice_s, "medium", tmp)
    lines = [
        "| run | wall s | CPU s | wall ratio | CPU ratio | note |", "|---|---|---|---|---|---|",
        ratio_row("floor: audio decode + stream copy of the kept span", floor_t, floor_t,
                  f"decode {decode.wall:.2f} s + copy {copy.wall:.2f} s"),
        ratio_row("LEAP head_tail (vs floor)", head_tail.timing, floor_t,
                  f"goal <= 2x; {head_tail.result['method']}"),
        ratio_row(f"full re-encode, x264 veryfast (from a {slice_s:g} s slice)", veryfast, veryfast, ""),
        ratio_row(f"full re-encode, ffmpeg defaults (x264 medium, from a {slice_s:g} s slice)", medium, medium, ""),
        ratio_row("LEAP pauses (vs veryfast re-encode)", pauses.timing, veryfast,
                  f"goal <= 0.1x; {pauses.result['method']}, {len(pauses.result['kept'])} spans"),  # type: ignore[arg-type]
        ratio_row("LEAP pauses (vs ffmpeg-default re-encode)", pauses.timing, medium, ""),
        ratio_row(f"LEAP pauses, keyframe_snap_s={SNAP_S:g} (vs veryfast re-encode)", snap.timing, veryfast,
                  f"goal <= 0.1x; {snap.result['method']}, {len(snap.result['kept'])} spans"),  # type: ignore[arg-type]
        ratio_row(f"LEAP pauses, keyframe_snap_s={SNAP_S:g} (vs ffmpeg-default re-encode)", snap.timing, medium, ""),
    ]
    return lines


def unsilence_table(lecture: Lecture, runs: dict[str, TrimRun], tmp: Path) -> list[str]:
    """unsilence detects silence with ffmpeg, then re-encodes every interval at x264's defaults."""
    unsilence, why = unsilence_run(lecture.path, tmp)
    if unsilence is None:
        return [f"unsilence: {why}, not compared"]
    lines = [f"| {lecture.duration:.0f} s lecture | wall s | CPU s | unsilence / LEAP, wall | CPU | goal |",
             "|---|---|---|---|---|---|",
             f"| unsilence 1.0.9 | {unsilence.wall:.2f} | {unsilence.cpu:.2f} | | | |"]
    for run, goal in (("head_tail", ">= 50x"), ("pauses", ""), ("pauses+snap", "")):
        timing = runs[run].timing
        lines.append(f"| LEAP {run} | {timing.wall:.2f} | {timing.cpu:.2f} | {unsilence.wall / timing.wall:.1f}x | "
                     f"{unsilence.cpu / timing.cpu:.1f}x | {goal} |")
    return lines


def memory_table(runs: dict[float, dict[str, TrimRun]]) -> list[str]:
    lines = ["| file | mode | peak RSS, python MiB | peak RSS, largest ffmpeg MiB |", "|---|---|---|---|"]
    for minutes, by_mode in sorted(runs.items()):
        for mode, run in by_mode.items():
            lines.append(f"| {minutes:g} min | {mode} | {run.rss_python_mib:.0f} | {run.rss_ffmpeg_mib:.0f} |")
    return lines


def blank_table(hours: float, tmp: Path) -> list[str]:
    """A long recording with no speech at all: the time from start to the blank verdict, fresh process."""
    from tests.fixtures.media import make_blank

    print(f"generating a {hours:g}-hour blank recording (cached)...", file=sys.stderr)
    path = make_blank(hours * 3600)
    lines = ["| blank file | mode | wall s | CPU s | status | VAD read s | reason |", "|---|---|---|---|---|---|---|"]
    for mode in ("head_tail", "pauses"):
        run = trim_in_child(path, tmp / f"blank-{mode}.mp4", mode, tmp)
        heard = float(run.result["analysed_seconds"])  # type: ignore[arg-type]
        lines.append(f"| {hours:g} h | {mode} | {run.timing.wall:.2f} | {run.timing.cpu:.2f} | {run.result['status']} "
                     f"| {heard:.0f} | {run.result['method_reason']} |")
    return lines


def vfr_table(hours: float, tmp: Path) -> list[str]:
    """Pause cutting a long variable-frame-rate recording (phone-like, 30 fps with frames dropped, B-frames;
    64x64 so hours are cheap to make): how far any output frame is from where the cut list puts it, which is
    also the A/V offset (the audio is cut at the same instants to the sample)."""
    import av

    print(f"generating a {hours:g}-hour VFR lecture (cached)...", file=sys.stderr)
    spec = dataclasses.replace(lecture_spec(hours * 60), size="64x64", fps=30, gop=60, encoding="phone_vfr")
    lecture = make_lecture(spec)
    run = trim_in_child(lecture.path, tmp / "vfr.mp4", "pauses", tmp)
    kept = [(float(s), float(e)) for s, e in run.result["kept"]]  # type: ignore[union-attr]
    with av.open(str(lecture.path)) as container:
        source = [float(f.time) for f in container.decode(video=0)]
    with av.open(str(tmp / "vfr.mp4")) as container:
        written = [float(f.time) for f in container.decode(video=0)]
    from leap_core.media.probe import probe

    quarter = 0.25 / (probe(lecture.path).fps or 30)  # the cut's own tolerance: its average frame rate
    expected, offset = [], 0.0
    for start, end in kept:
        expected += [at - start + offset for at in source if start - quarter <= at < end - quarter]
        offset += end - start
    worst = max(abs(a - b) for a, b in zip(written, expected, strict=False))
    last = abs(written[-1] - expected[-1])
    return ["| VFR input | spans | frames out / expected | worst frame offset ms | at the end ms | wall s | method |",
            "|---|---|---|---|---|---|---|",
            f"| {lecture.duration / 3600:.2f} h | {len(kept)} | {len(written)} / {len(expected)} "
            f"| {worst * 1000:.1f} | {last * 1000:.1f} | {run.timing.wall:.1f} | {run.result['method']} |"]


LOUDNESS_CHILD = """
import json, resource, sys
from pathlib import Path
from leap_core.media.trim import TrimConfig, trim
result = trim(Path(sys.argv[1]), Path(sys.argv[2]), TrimConfig.model_validate(json.loads(sys.argv[3])))
print(json.dumps({"result": result.to_dict(), "rss_python": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""
LOUDNESS_RUNS = {"pauses": {"mode": "pauses"}, "pauses, loudness off": {"mode": "pauses", "loudness": "off"},
                 "head_tail, loudness always": {"mode": "head_tail", "loudness": "always"},
                 "head_tail (auto: gain recorded)": {"mode": "head_tail"},
                 "head_tail, loudness off": {"mode": "head_tail", "loudness": "off"}}
"""Each run beside its reference in the same run: pauses and head_tail with loudness off (what measuring and
normalising cost)."""


def loudness_table(minutes: float, tmp: Path) -> list[str]:
    """Output loudness and true peak (metered on the written file by ffmpeg's ebur128) for lectures recorded
    at the issue's -35 and -10 LUFS (held-out voices, 48 kHz stereo AAC), with wall time and peak memory of
    a fresh process per trim (python and the largest ffmpeg it ran)."""
    from tests.fixtures.loudness import JUDGING, at_level, meter

    lines = ["| input | run | output LUFS | output dBTP | gain dB | wall s | RSS python MiB | RSS ffmpeg MiB |",
             "|---|---|---|---|---|---|---|---|"]
    for level in JUDGING:
        print(f"generating the {level.lufs:g} LUFS lecture (cached)...", file=sys.stderr)
        spec = dataclasses.replace(lecture_spec(minutes, noise_dbfs=-50.0), voice=level.voice, size="320x240")
        src = at_level(make_lecture(spec), level)
        metered = meter(src)
        for name, config in LOUDNESS_RUNS.items():
            out = tmp / f"loud-{len(lines)}.mp4"
            shim, log = tmp / "rss-bin", tmp / f"rss-loud-{len(lines)}.log"
            shim.mkdir(exist_ok=True)
            (shim / "ffmpeg").write_text(SHIM.format(log=log, ffmpeg=ffmpeg_binary()))
            (shim / "ffmpeg").chmod(0o755)
            env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}
            settings = json.dumps({**config, "blank_min_speech_s": 3.0})
            timing, printed = timed([sys.executable, "-c", LOUDNESS_CHILD, str(src), str(out), settings], env)
            data = json.loads(printed)
            peaks = [int(line) for line in log.read_text().split() if line.isdigit()] if log.exists() else [0]
            written = meter(out)
            lines.append(f"| {metered.integrated:.1f} LUFS, {metered.true_peak:.1f} dBTP | {name} "
                         f"| {written.integrated:.1f} | {written.true_peak:.1f} | {data['result']['loudness_gain_db']} "
                         f"| {timing.wall:.1f} | {data['rss_python'] / MIB:.0f} | {max(peaks) / MIB:.0f} |")
            print(lines[-1], file=sys.stderr)
    return lines


def encodings_table(minutes: float, slice_s: float, tmp: Path, only: list[str] | None = None) -> list[str]:
    """head_tail against the floor and pauses against a veryfast re-encode, on every encoding people record
    in (same run, same 720p lecture content), with the method each trim chose, head_tail's speech bounds
    against the lecture's truth and the peak memory of either trim (Python, largest ffmpeg child)."""
    lines = ["| encoding | floor s | head_tail s | ÷ floor | head_tail in a worker s | ÷ floor | veryfast re-encode s "
             "| pauses s | veryfast ÷ pauses | bounds error s (start / end) | peak MiB (python / ffmpeg) "
             "| methods (head_tail / pauses) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for encoding in only or list(ENCODINGS):
        fps = 30 if encoding in ("obs", "phone_vfr") else 25
        print(f"generating the {encoding} lecture (cached)...", file=sys.stderr)
        lecture = make_lecture(lecture_spec(minutes, "lecture", noise_dbfs=-50.0, encoding=encoding, fps=fps))
        head_tail = trim_in_child(lecture.path, tmp / f"{encoding}-ht.mp4", "head_tail", tmp)
        pauses = trim_in_child(lecture.path, tmp / f"{encoding}-p.mp4", "pauses", tmp)
        decode, copy = floor(lecture.path, head_tail.result["kept"][0], tmp)  # type: ignore[index]
        floor_wall = decode.wall + copy.wall
        veryfast = full_reencode(lecture.path, lecture.duration, slice_s, "veryfast", tmp)
        spans = len(pauses.result["kept"])  # type: ignore[arg-type]
        start_error = abs(float(head_tail.result["speech_start"]) - lecture.speech_start)  # type: ignore[arg-type]
        end_error = abs(float(head_tail.result["speech_end"]) - lecture.speech_end)  # type: ignore[arg-type]
        python_mib = max(head_tail.rss_python_mib, pauses.rss_python_mib)
        ffmpeg_mib = max(head_tail.rss_ffmpeg_mib, pauses.rss_ffmpeg_mib)
        lines.append(
            f"| {encoding} | {floor_wall:.2f} | {head_tail.timing.wall:.2f} "
            f"| {head_tail.timing.wall / floor_wall:.2f}x "
            f"| {head_tail.call_s:.2f} | {head_tail.call_s / floor_wall:.2f}x "
            f"| {veryfast.wall:.1f} | {pauses.timing.wall:.2f} | {veryfast.wall / pauses.timing.wall:.1f}x | "
            f"{start_error:.3f} / {end_error:.3f} | {python_mib:.0f} / {ffmpeg_mib:.0f} | "
            f"{head_tail.result['method']} / {pauses.result['method']} ({spans} spans) |")
        print(lines[-1], file=sys.stderr)
    return lines


def early_head_table(minutes: float, runs: int, tmp: Path, only: list[str] | None = None) -> list[str]:
    """head_tail's trim call with the early head off and on (`trim.EARLY_HEAD`), in one warm process,
    alternating so both see the same machine: the median of `runs` calls each, and the floor beside them."""
    lines = ["| encoding | floor s | early head off: median s | on: median s | change | on ÷ floor | runs |",
             "|---|---|---|---|---|---|---|"]
    for encoding in only or ["veryfast", "obs", "hevc"]:
        fps = 30 if encoding in ("obs", "phone_vfr") else 25
        print(f"generating the {encoding} lecture (cached)...", file=sys.stderr)
        lecture = make_lecture(lecture_spec(minutes, "lecture", noise_dbfs=-50.0, encoding=encoding, fps=fps))
        out = tmp / f"{encoding}-early.mp4"
        first = trim(lecture.path, out)  # warms the model, the codecs and the page cache
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(runs):
            for early in (False, True):
                trim_module.EARLY_HEAD = early
                started = time.perf_counter()
                trim(lecture.path, out)
                times[early].append(time.perf_counter() - started)
        trim_module.EARLY_HEAD = True
        decode, copy = floor(lecture.path, [first.kept[0][0], first.kept[-1][1]], tmp)
        floor_wall = decode.wall + copy.wall
        off, on = (sorted(times[flag])[len(times[flag]) // 2] for flag in (False, True))
        lines.append(f"| {encoding} | {floor_wall:.2f} | {off:.2f} | {on:.2f} | {(on - off) / off:+.0%} "
                     f"| {on / floor_wall:.1f}x | {runs} |")
        print(lines[-1], file=sys.stderr)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="length of the main lecture")
    parser.add_argument("--small-minutes", type=float, default=3.0, help="second length, for memory")
    parser.add_argument("--slice", type=float, default=60.0, help="seconds of the full re-encode timed")
    parser.add_argument("--pace", choices=sorted(PACES), default="lecture", help="where the pauses fall")
    parser.add_argument("--no-unsilence", action="store_true", help="skip unsilence (18 min on 60 minutes)")
    parser.add_argument("--quick", action="store_true", help="3 and 2 minutes, a 20 s re-encode slice")
    parser.add_argument("--encodings", type=float, default=0.0, help="minutes: only the per-encoding table")
    parser.add_argument("--only", nargs="+", choices=sorted(ENCODINGS), help="with --encodings: these encodings")
    parser.add_argument("--blank-hours", type=float, default=0.0, help="hours: only the blank-file timing")
    parser.add_argument("--vfr-hours", type=float, default=0.0, help="hours: only the VFR A/V offset")
    parser.add_argument("--loudness", type=float, default=0.0, help="minutes: only the output loudness table")
    parser.add_argument("--early-head", type=int, default=0, metavar="RUNS",
                        help="only head_tail with the early head off and on, RUNS calls each (3-minute lectures)")
    args = parser.parse_args()
    if args.early_head:
        with tempfile.TemporaryDirectory() as name:
            start_load = load()
            table = early_head_table(3.0, args.early_head, Path(name), args.only)
            print(f"\n3-minute 720p lectures, pace lecture, one warm process, load {start_load} -> {load()}\n")
            print("\n".join(table))
        return
    if args.loudness:
        with tempfile.TemporaryDirectory() as name:
            start_load = load()
            table = loudness_table(args.loudness, Path(name))
            print(f"\n{args.loudness:g}-minute lectures, 48 kHz stereo, load {start_load} -> {load()}\n")
            print("\n".join(table))
        return
    if args.encodings or args.blank_hours or args.vfr_hours:
        with tempfile.TemporaryDirectory() as name:
            start_load = load()
            if args.encodings:
                table = encodings_table(args.encodings, args.slice, Path(name), args.only)
                print(f"\n{args.encodings:g}-minute 720p lectures, pace lecture, load {start_load} -> {load()}\n")
                print("\n".join(table))
            if args.blank_hours:
                print("\n".join(blank_table(args.blank_hours, Path(name))))
            if args.vfr_hours:
                print("\n".join(vfr_table(args.vfr_hours, Path(name))))
        return
    minutes, small, slice_s = (3.0, 2.0, 20.0) if args.quick else (args.minutes, args.small_minutes, args.slice)
    print(f"generating {small:g}- and {minutes:g}-minute 720p lectures (cached)...", file=sys.stderr)
    lectures = {m: make_lecture(lecture_spec(m, args.pace, noise_dbfs=-50.0)) for m in (small, minutes)}
    start_load = load()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        runs = {m: {run: trim_in_child(lecture.path, tmp / f"{m}-{run}.mp4", run, tmp) for run in RUNS}
                for m, lecture in lectures.items()}
        main_lecture = lectures[minutes]
        speed = speed_table(main_lecture, runs[minutes], tmp, slice_s)
        against_unsilence = [] if args.no_unsilence else unsilence_table(main_lecture, runs[minutes], tmp)
    head_tail = runs[minutes]["head_tail"].result
    print(f"\n{minutes:g}-minute 720p H.264/AAC lecture ({main_lecture.duration:.0f} s, "
          f"{main_lecture.path.stat().st_size / 2**20:.0f} MiB, {len(main_lecture.speech_spans)} sentences, "
          f"pace {args.pace}), "
          f"load average {start_load} at start, {load()} at end\n")
    print("\n".join(speed))
    print()
    print("\n".join(against_unsilence))
    print(f"\nhead_tail speech bounds on this file: start error "
          f"{abs(float(head_tail['speech_start']) - main_lecture.speech_start):.3f} s, end error "  # type: ignore[arg-type]
          f"{abs(float(head_tail['speech_end']) - main_lecture.speech_end):.3f} s; "  # type: ignore[arg-type]
          f"VAD read {float(head_tail['analysed_seconds']):.0f} of {main_lecture.duration:.0f} s\n")  # type: ignore[arg-type]
    print("\n".join(memory_table(runs)))
    print("\n| accuracy (1-minute 720p lecture) | start error s | end error s |\n|---|---|---|")
    for name, start_error, end_error in accuracy():
        print(f"| {name} | {start_error:.3f} | {end_error:.3f} |")
    print("goal: errors <= 0.3 s; peak memory flat in file length and <= 300 MiB")


if __name__ == "__main__":
    main()
