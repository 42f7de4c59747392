"""EBU R128 loudness of the kept audio, and the filters that bring it to a template's target.

Two passes over the same PCM the encoder gets (kept spans, tracks mixed, fades applied): the first
measures it with ffmpeg's `ebur128` filter (integrated loudness, loudness range, true peak), the second
applies one gain to the whole lecture and a look-ahead limiter at the true-peak ceiling, and measures
again on its way to the encoder. One gain keeps the lecture's own dynamics (a question from the back stays
quieter than the lecturer); the limiter only shaves the few peaks the gain lifts over the ceiling.
ffmpeg's `loudnorm` would do the same in its linear mode but falls back to its dynamic mode, which
resamples to 192 kHz, whenever a peak is in the way: on a lecture at -35 LUFS that is always, and it ran
at 10x real time against the limiter's 250x (ADR 0035).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from leap_core.errors import MediaError
from leap_core.media import ffmpeg as ff
from leap_core.media import samples
from leap_core.media.spans import Span

SILENT_LUFS = -70.0
"""ebur128's absolute gate: a lecture measured at it has no loudness to normalise."""
LIMITER_MARGIN_DB = 0.5
"""Below the true-peak ceiling the limiter's sample-peak limit is set: it limits samples, and between
samples 16 kHz speech overshot it by 0.3 dB on the tuning lectures (ADR 0035)."""
CORRECTION_FACTOR = 1.5
"""The shortfall is added half again: the added gain pushes more peaks into the limiter, which takes about
half of it back (tuning lectures: -16.4 LUFS with the plain shortfall, see ADR 0035)."""
MAX_CORRECTION_DB = 3.0
"""At most this much is added for what the limiter took: more would only squash the peaks harder."""
LIMITER = {"attack": 5, "release": 50, "level": 0, "latency": 1}
"""Look-ahead 5 ms, release 50 ms (a syllable), no make-up gain, and the look-ahead's delay compensated so
every sample stays where the cut put it."""
_SUMMARY = {"integrated": r"I:\s+(\S+) LUFS", "lra": r"LRA:\s+(\S+) LU", "true_peak": r"Peak:\s+(\S+) dBFS"}


@dataclass(frozen=True)
class Loudness:
    """One measurement: integrated loudness (LUFS), true peak (dBTP), loudness range (LU)."""

    integrated: float
    true_peak: float
    lra: float

    def rounded(self, prefix: str) -> dict[str, float | None]:
        def shown(value: float) -> float | None:
            return round(value, 1) if math.isfinite(value) else None

        return {f"{prefix}_lufs": shown(self.integrated), f"{prefix}_true_peak_db": shown(self.true_peak),
                f"{prefix}_lra": shown(self.lra)}


def parse_summary(stderr: bytes, peak: bool = True) -> Loudness:
    """The last `ebur128` summary in ffmpeg's log (printed at info level when the filter closes); without
    `peak` the true peak is not in it and is NaN."""
    text = stderr.decode(errors="replace")
    at = text.rfind("Summary:")
    if at < 0:
        raise MediaError(f"loudness measurement printed no summary: {ff.last_complaint(stderr)}")
    values = {}
    for name, pattern in _SUMMARY.items():
        found = re.search(pattern, text[at:])
        if name == "true_peak" and not peak:
            values[name] = math.nan
            continue
        if found is None:
            raise MediaError(f"loudness measurement has no {name}")
        values[name] = float(found.group(1))  # "-inf" for digital silence parses as -inf
    return Loudness(values["integrated"], values["true_peak"], values["lra"])


def meter() -> dict[str, object]:
    """The `ebur128` options of both passes: true peak (4x oversampled), no per-frame log."""
    return {"peak": "true", "framelog": "quiet"}


def measure(pcm: Iterable[bytes], rate: int, channels: int, what: str) -> Loudness:
    """Pass one: the loudness of `pcm` (interleaved float, as `samples.kept_pcm` yields it)."""
    stream = pcm_input(rate, channels).filter("ebur128", **meter())
    stderr = ff.run_fed(stream.output("-", f="null"), pcm, what, loglevel="info")
    return parse_summary(stderr)


def measure_span(src: Path, span: Span, track: int, what: str) -> Loudness:
    """The integrated loudness and range of one span of a file's audio `track`, decoded by ffmpeg itself and
    without the true peak: for copied audio, whose gain is only recorded, this costs one native decode
    instead of a decode through Python and a 4x oversampled peak meter."""
    start, end = span
    stream = ffmpeg.input(str(src), ss=f"{start:.6f}", t=f"{end - start:.6f}")[f"a:{track}"]
    stderr = ff.run(stream.filter("ebur128", framelog="quiet").output("-", f="null"), what, loglevel="info")
    return parse_summary(stderr, peak=False)


@dataclass(frozen=True)
class Gain:
    """What pass two does: `gain_db` to every sample, then the limiter at `ceiling_db` (dBFS)."""

    gain_db: float
    ceiling_db: float

    def filters(self) -> list[tuple[str, dict[str, object]]]:
        limit = 10 ** ((self.ceiling_db - LIMITER_MARGIN_DB) / 20)
        return [("volume", {"volume": f"{self.gain_db:.2f}dB"}),
                ("alimiter", {"limit": f"{max(limit, 0.0625):.4f}", **LIMITER}),
                ("ebur128", meter())]


def gain_for(before: Loudness, target_lufs: float, true_peak_db: float) -> Gain | None:
    """The gain that brings `before` to `target_lufs`, or None when there is nothing to measure (silence)."""
    if not math.isfinite(before.integrated) or before.integrated <= SILENT_LUFS:
        return None
    return Gain(round(target_lufs - before.integrated, 2), true_peak_db)


def limited(before: Loudness, gain: Gain) -> bool:
    """Whether the gain lifts any peak to the limiter: only then does the output lose loudness to it."""
    return before.true_peak + gain.gain_db > gain.ceiling_db - LIMITER_MARGIN_DB


def corrected(gain: Gain, through_limiter: Loudness, target_lufs: float) -> Gain:
    """The gain once more, after measuring what the limiter took: shaving peaks lowers the integrated
    loudness (0.8 LU on a quiet tuning lecture lifted 19 dB), so the shortfall is added once. A second
    correction would cost a fourth pass; one, scaled by `CORRECTION_FACTOR`, lands within 0.2 LU (ADR 0035)."""
    shortfall = min(max(target_lufs - through_limiter.integrated, 0.0) * CORRECTION_FACTOR, MAX_CORRECTION_DB)
    return Gain(round(gain.gain_db + shortfall, 2), gain.ceiling_db)


def pcm_input(rate: int, channels: int, gain: Gain | None = None) -> ffmpeg.nodes.FilterableStream:
    """ffmpeg's input of the PCM on its stdin, through `gain`'s filters when there is one."""
    stream = ffmpeg.input("pipe:", f=samples.PCM_FORMAT, ar=rate, ac=channels)
    for name, options in gain.filters() if gain else []:
        stream = stream.filter(name, **options)
    return stream


def measure_through(pcm: Iterable[bytes], rate: int, channels: int, gain: Gain, what: str) -> Loudness:
    """Pass one and a half: the loudness `gain` would give, limiter included, without encoding anything."""
    return parse_summary(ff.run_fed(pcm_input(rate, channels, gain).output("-", f="null"), pcm, what, loglevel="info"))
