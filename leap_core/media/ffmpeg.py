"""Where the ffmpeg binary comes from, and how LEAP runs it without leaking ffmpeg's log to users.

A pip-only install has no system ffmpeg, so `imageio-ffmpeg`'s bundled static build is the fallback;
a system ffmpeg on PATH wins because distributions build it with more encoders.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterable
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


def run(stream: ffmpeg.nodes.OutputStream, what: str, loglevel: str = "error") -> bytes:
    """Run one ffmpeg command quietly; a failure becomes a MediaError saying `what` failed and why.
    Returns ffmpeg's log (see `run_fed`)."""
    args = stream.global_args("-nostdin", "-nostats", "-hide_banner", "-loglevel", loglevel)
    try:
        _, stderr = args.run(cmd=ffmpeg_binary(), capture_stdout=True, capture_stderr=True, overwrite_output=True)
    except ffmpeg.Error as exc:
        raise MediaError(f"{what} failed: {last_complaint(exc.stderr)}") from None
    return bytes(stderr or b"")


def run_fed(
    stream: ffmpeg.nodes.OutputStream, chunks: Iterable[bytes], what: str, loglevel: str = "error"
) -> bytes:
    """Run one ffmpeg command reading `pipe:` from `chunks`; a failure becomes a MediaError as in `run`.

    Returns ffmpeg's log: with `loglevel="info"` it holds what filters such as `ebur128` print on closing."""
    args = stream.global_args("-nostdin", "-nostats", "-hide_banner", "-loglevel", loglevel)
    process = args.run_async(cmd=ffmpeg_binary(), pipe_stdin=True, pipe_stderr=True, overwrite_output=True)
    try:
        with contextlib.suppress(BrokenPipeError):  # ffmpeg stopped reading: its status and stderr say why
            for chunk in chunks:
                process.stdin.write(chunk)
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        stderr = process.stderr.read()
        code = process.wait()
    if code != 0:
        raise MediaError(f"{what} failed: {last_complaint(stderr)}")
    return bytes(stderr)
