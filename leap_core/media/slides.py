"""Slide changes of a screen-share recording: where the picture turns into a different slide.

The video is decoded with PyAV and sampled at SAMPLE_FPS, each sample shrunk to a 64x36 grey image.
A slide change replaces most of the screen; the things that are *not* slide changes touch little of it
or touch it gradually:

- a talking-head inset moves all the time: pixels that change in most samples are left out of every
  comparison (`busy_mask`);
- a bullet point or a diagram building up alters a band of the slide and removes nothing, while a new
  slide replaces most of the screen or, on a shared background, removes the old text: a change must
  replace CHANGED_SHARE of the screen or of the previous slide's ink (`change_share`);
- a fade or slide-in spreads one change over a few samples: consecutive changed samples merge into one
  event, timed at its first sample, and the event counts only if the picture before it and the settled
  picture after it really differ (a flash or a brief overlay that goes away does not).

ffmpeg's own `scene` score (mean absolute difference) was not used: a fade lowers it below any useful
threshold, while a fast-moving inset raises it (ADR 0039).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

SAMPLE_FPS = 2.0
WIDTH, HEIGHT = 64, 36
PIXEL_DELTA = 24
"""Grey levels a pixel must move by to count as changed (compression noise stays under ~10)."""
CHANGED_SHARE = 0.22
MIN_REPLACED = 0.01
"""A same-background slide change still alters at least this share of the screen (its text)."""
MIN_INK = 12
"""Pixels of text or drawing (of 64x36) below which a slide counts as blank: nothing to be removed."""
BUSY_STEPS = 3
MERGE_SECONDS = 2.5
SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class SlideChange:
    at: float
    share: float
    """Share of the screen that changed between the slide before and the one after (0..1)."""


def _samples(video: Path) -> tuple[list[float], list[np.ndarray]]:
    import av

    times: list[float] = []
    frames: list[np.ndarray] = []
    with av.open(str(video)) as container:
        if not container.streams.video:
            return [], []
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        step = 1.0 / SAMPLE_FPS
        next_at = 0.0
        for frame in container.decode(stream):
            if frame.time is None or frame.time + 1e-6 < next_at:
                continue
            grey = frame.reformat(width=WIDTH, height=HEIGHT, format="gray").to_ndarray()
            times.append(float(frame.time))
            frames.append(grey.astype(np.int16))
            next_at = frame.time + step
    return times, frames


def busy_mask(frames: list[np.ndarray]) -> np.ndarray:
    """Pixels that keep changing on their own: a talking-head inset, a clock, a playing video.

    A slide's pixel changes when the slide does (a step where much of the screen changes) or once when a
    build adds it; a pixel that changes in BUSY_STEPS or more *small* steps is something moving.
    """
    moving = np.zeros((HEIGHT, WIDTH), dtype=np.int32)
    for a, b in pairwise(frames):
        changed = np.abs(a - b) > PIXEL_DELTA
        if changed.mean() < CHANGED_SHARE:
            moving += changed
    return np.asarray(moving >= BUSY_STEPS)


def change_share(before: np.ndarray, after: np.ndarray, still: np.ndarray) -> float:
    """How much of the slide was replaced, over the still pixels: the share that changed, or, on slides
    that share a background, the share of the old text and drawings that is gone (a bullet appearing
    adds ink and removes none, so builds score near 0)."""
    changed = (np.abs(before - after) > PIXEL_DELTA) & still
    background = np.median(before[still]) if still.any() else 0
    ink = (np.abs(before - background) > PIXEL_DELTA) & still
    removed = float(np.sum(changed & ink) / np.sum(ink)) if np.sum(ink) >= MIN_INK else 0.0
    share = float(np.sum(changed) / max(np.sum(still), 1))
    return max(share, removed if share >= MIN_REPLACED else 0.0)


def detect_changes(times: list[float], frames: list[np.ndarray]) -> list[SlideChange]:
    """Slide changes in samples (seconds, grey images), after merging animations and dropping flashes."""
    still = ~busy_mask(frames)
    events: list[list[int]] = []
    for i in range(1, len(frames)):
        if change_share(frames[i - 1], frames[i], still) >= CHANGED_SHARE:
            if events and times[i] - times[events[-1][-1]] <= MERGE_SECONDS:
                events[-1].append(i)
            else:
                events.append([i])
    changes = []
    for event in events:
        before = frames[event[0] - 1]
        settled_at = times[event[-1]] + SETTLE_SECONDS
        after_index = next((j for j in range(event[-1], len(frames)) if times[j] >= settled_at), len(frames) - 1)
        share = change_share(before, frames[after_index], still)
        if share >= CHANGED_SHARE:
            changes.append(SlideChange(round(times[event[0]], 2), round(share, 3)))
    return changes


def slide_changes(video: Path) -> list[SlideChange]:
    """Slide changes of `video`; [] when it has no video stream."""
    times, frames = _samples(video)
    return detect_changes(times, frames)


def save_slide(ffmpeg: str, video: Path, at: float, out: Path, width: int = 640) -> Path:
    """The picture at `at` seconds (plus a settle second) as a JPEG: the chapter's slide, or the thumbnail."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.jpg")
    subprocess.run([ffmpeg, "-y", "-v", "error", "-ss", f"{at + SETTLE_SECONDS:.2f}", "-i", str(video),
                    "-frames:v", "1", "-vf", f"scale={width}:-2", "-q:v", "4", str(tmp)],
                   check=True, capture_output=True, timeout=60)
    tmp.replace(out)
    return out
