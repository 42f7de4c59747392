"""Reading a recording's sound through ffmpeg: a loudness envelope, PCM for Whisper, small upload files.

Everything streams through ffmpeg's stdout so a two-hour lecture never sits in memory as raw samples:
the envelope keeps one number per tenth of a second, and PCM is read one chunk at a time.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leap_core.errors import MediaError
from leap_core.media.ffmpeg import ffmpeg_binary, last_complaint

WHISPER_RATE = 16_000
ENVELOPE_RATE = 8_000
HOP_SECONDS = 0.1
UPLOAD_BITRATE_KBPS = 32
"""Mono MP3 at 32 kbit/s keeps speech intelligible to Whisper at ~14 MiB per hour: any OpenAI-compatible
server accepts MP3, and a 10-minute chunk is ~2.3 MiB, far under the 25 MiB request limit."""


@dataclass(frozen=True)
class Envelope:
    """Loudness in dBFS per `HOP_SECONDS`; where it dips is where a chunk can be cut without losing a word."""

    levels_db: np.ndarray
    duration: float


def _ffmpeg_error(path: Path, stderr: bytes) -> MediaError:
    said = stderr.decode(errors="replace")
    silent = "matches no streams" in said or "does not contain any stream" in said
    reason = "it has no audio track" if silent else last_complaint(stderr)
    return MediaError(f"cannot read audio from {path.name}: {reason}")


def _decode_args(path: Path, rate: int, start: float | None, seconds: float | None, fmt: str) -> list[str]:
    window = []
    if start is not None:
        window += ["-ss", f"{start:.3f}"]
    if seconds is not None:
        window += ["-t", f"{seconds:.3f}"]
    return [ffmpeg_binary(), "-nostdin", "-v", "error", *window, "-i", str(path), "-vn", "-map", "0:a:0",
            "-ac", "1", "-ar", str(rate), "-f", fmt, "-"]


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise MediaError(f"audio file not found: {path}")


def envelope(path: Path) -> Envelope:
    """One pass over the whole recording at a low rate; also the authoritative audio duration."""
    _require_file(path)
    hop = int(ENVELOPE_RATE * HOP_SECONDS)
    levels: list[float] = []
    samples = 0
    with subprocess.Popen(_decode_args(path, ENVELOPE_RATE, None, None, "s16le"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        while block := proc.stdout.read(hop * 2 * 600):
            pcm = np.frombuffer(block[: len(block) // 2 * 2], dtype=np.int16).astype(np.float32) / 32768.0
            samples += len(pcm)
            frames = pcm[: len(pcm) // hop * hop].reshape(-1, hop) if len(pcm) >= hop else pcm.reshape(1, -1)
            rms = np.sqrt(np.mean(frames**2, axis=1)) + 1e-9
            levels.extend((20 * np.log10(rms)).tolist())
        stderr = proc.stderr.read()
    if proc.returncode != 0:
        raise _ffmpeg_error(path, stderr)
    return Envelope(np.asarray(levels, dtype=np.float32), samples / ENVELOPE_RATE)


def read_pcm(path: Path, start: float, seconds: float) -> np.ndarray:
    """Float32 mono at 16 kHz for one window: the input faster-whisper expects."""
    _require_file(path)
    done = subprocess.run(_decode_args(path, WHISPER_RATE, start, seconds, "f32le"), capture_output=True)
    if done.returncode != 0:
        raise _ffmpeg_error(path, done.stderr)
    return np.frombuffer(done.stdout, dtype=np.float32)


def encode_upload(path: Path, start: float, seconds: float, out: Path) -> Path:
    """A small mono MP3 of one window, written under a temporary name so a crash never leaves half a file."""
    _require_file(path)
    tmp = out.with_name(f".{out.name}.tmp.mp3")
    args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", "-ss", f"{start:.3f}", "-t", f"{seconds:.3f}",
            "-i", str(path), "-vn", "-map", "0:a:0", "-ac", "1", "-ar", str(WHISPER_RATE),
            "-c:a", "libmp3lame", "-b:a", f"{UPLOAD_BITRATE_KBPS}k", str(tmp)]
    done = subprocess.run(args, capture_output=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise _ffmpeg_error(path, done.stderr)
    tmp.replace(out)
    return out
