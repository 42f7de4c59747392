"""Re-reading written subtitle files the way a player would: the facts the `subtitles` asset check reports."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import srt
import webvtt

from leap_core.speech.subtitles import MAX_LINE


def _vtt_seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def subtitle_problems(srt_path: Path, vtt_path: Path, duration: float) -> list[str]:
    """Everything wrong with the pair of files, one line each; empty when both are fit to publish."""
    try:
        items = [(s.start.total_seconds(), s.end.total_seconds(), s.content)
                 for s in srt.parse(srt_path.read_text(encoding="utf-8"))]
    except (OSError, srt.SRTParseError) as exc:
        return [f"{srt_path.name} does not parse: {type(exc).__name__}"]
    try:
        captions = webvtt.read(str(vtt_path)).captions
    except (OSError, webvtt.errors.MalformedFileError) as exc:
        return [f"{vtt_path.name} does not parse: {type(exc).__name__}"]
    problems = []
    if len(captions) != len(items):
        problems.append(f"{len(items)} SRT cues but {len(captions)} VTT cues")
    if any(_vtt_seconds(c.end) > duration + 0.01 for c in captions) or any(e > duration + 0.01 for _, e, _ in items):
        problems.append(f"a cue ends after the video ({duration:.1f} s)")
    if any(a[1] > b[0] + 1e-3 for a, b in pairwise(items)):
        problems.append("cues overlap")
    lines = [text.split("\n") for _, _, text in items]
    if any(len(cue) > 2 or any(len(line) > MAX_LINE for line in cue) for cue in lines):
        problems.append(f"a cue has more than 2 lines or a line over {MAX_LINE} characters")
    return problems
