"""The topics stage's use of the screen: slide changes in, each chapter's slide image and the thumbnail out."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from leap_core.errors import LeapError
from leap_core.speech.topic_models import Slide, Topics

if TYPE_CHECKING:
    from leap_core.pipeline.runner import StageInput

log = logging.getLogger(__name__)

SLIDES_ALLOWANCE = 8 << 20
"""Up to 21 JPEGs of 640 px (chapters plus the title slide), ~100-300 kB each."""
THUMBNAIL = "title.jpg"


def screen_slide_changes(stage_input: StageInput) -> list[float]:
    """Slide changes of the trimmed recording's video, [] for audio-only input or a video that cannot be read.

    Chapters without slides are still chapters, so a decoding problem here is logged, never a stage failure.
    """
    from leap_core.media.slides import slide_changes  # deferred with PyAV and NumPy
    from leap_core.pipeline.work import trimmed_media

    try:
        return [c.at for c in slide_changes(trimmed_media(stage_input))]
    except (LeapError, OSError, ValueError) as exc:
        log.warning("no slide changes for %s: %s", stage_input.recording_id, type(exc).__name__)
        return []


def keep_slides(topics: Topics, changes: list[float], video: Path, folder: Path) -> Topics:
    """Topics with `slide_changes`, each chapter's slide image and the title slide saved under `folder`."""
    if not changes:
        return topics
    from leap_core.media.ffmpeg import ffmpeg_binary
    from leap_core.media.slides import save_slide

    shutil.rmtree(folder, ignore_errors=True)
    ffmpeg = ffmpeg_binary()
    slides = []
    try:
        save_slide(ffmpeg, video, 0.0, folder / THUMBNAIL)
        for index, chapter in enumerate(topics.chapters):
            name = f"chapter-{index + 1:02d}.jpg"
            save_slide(ffmpeg, video, chapter.start, folder / name)
            slides.append(Slide(start=chapter.start, image=name))
    except (OSError, subprocess.SubprocessError, LeapError) as exc:
        log.warning("slide images not kept: %s", type(exc).__name__)
        return topics.model_copy(update={"slide_changes": changes})
    return topics.model_copy(update={"slide_changes": changes, "slides": slides, "thumbnail": THUMBNAIL})
