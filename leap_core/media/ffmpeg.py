"""Where the ffmpeg binary comes from, and how LEAP runs it without leaking ffmpeg's log to users.

A pip-only install has no system ffmpeg, so `imageio-ffmpeg`'s bundled static build is the fallback;
a system ffmpeg on PATH wins because distributions build it with more encoders.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import lru_cache

import ffmpeg
import imageio_ffmpeg

from leap_core.errors import MediaError

Progress = Callable[[float], None]


@lru_cache(maxsize=1)
def ffmpeg_binary() -> str:
    """The ffmpeg executable: PATH first, else the one imageio-ffmpeg ships."""
    return shutil.which("ffmpeg") or imageio_ffmpeg.get_ffmpeg_exe()


def last_complaint(stderr: bytes | None) -> str:
    """ffmpeg's stderr is a wall of banners and stream dumps; its last line names the problem."""
    lines = [line.strip() for line in (stderr or b"").decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "unknown ffmpeg error"


def run(stream: ffmpeg.nodes.OutputStream, what: str, progress: Progress | None = None) -> None:
    """Run one ffmpeg command quietly; a failure becomes a MediaError saying `what` failed and why.

    `progress`, when given, receives the output time in seconds as ffmpeg reports it.
    """
    args = stream.global_args("-nostdin", "-hide_banner", "-loglevel", "error")
    if progress is None:
        try:
            args.run(cmd=ffmpeg_binary(), capture_stdout=True, capture_stderr=True, overwrite_output=True)
        except ffmpeg.Error as exc:
            raise MediaError(f"{what} failed: {last_complaint(exc.stderr)}") from None
        return
    process = args.global_args("-progress", "pipe:1", "-nostats").run_async(
        cmd=ffmpeg_binary(), pipe_stdout=True, pipe_stderr=True, overwrite_output=True
    )
    for line in process.stdout:
        key, _, value = line.decode(errors="replace").strip().partition("=")
        if key == "out_time_us" and value.isdigit():
            progress(int(value) / 1_000_000)
    stderr = process.stderr.read()
    if process.wait() != 0:
        raise MediaError(f"{what} failed: {last_complaint(stderr)}")
