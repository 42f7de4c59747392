"""The trimmed recording's audio: copied, or re-encoded with a fade at every cut and the loudness normalised.

The video's method (copy, smart cut, re-encode) does not decide this: audio costs little to re-encode
next to video, and it is cut to the sample either way. The audio is re-encoded when a copy cannot be
exact (several spans: packets do not end at a cut), when tracks are mixed, when the template asks for a
re-encode, and when the template's `loudness` is `always`. Otherwise its packets are copied, and under
`auto` the gain that would bring it to the target is measured and recorded, not applied (ADR 0035).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from leap_core.media import cut, loudness, samples
from leap_core.media import ffmpeg as ff
from leap_core.media.loudness import Gain, Loudness
from leap_core.media.probe import MediaInfo
from leap_core.media.spans import Span

LoudnessMode = Literal["auto", "always", "off"]


@dataclass(frozen=True)
class AudioSettings:
    """The template's audio settings, as `TrimConfig` holds them."""

    loudness: LoudnessMode = "auto"
    target_lufs: float = -16.0
    true_peak_db: float = -1.5
    fade_s: float = 0.010


@dataclass(frozen=True)
class AudioReport:
    """What was done to the audio; `to_dict()` joins the trim metadata."""

    copied: bool
    reason: str
    before: Loudness | None = None
    after: Loudness | None = None
    gain_db: float | None = None
    applied: bool = False
    fade_ms: float = 0.0

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"audio_copied": self.copied, "loudness_applied": self.applied,
                                   "loudness_gain_db": self.gain_db, "loudness_reason": self.reason,
                                   "audio_fade_ms": round(self.fade_ms, 1)}
        for prefix, measured in (("loudness_before", self.before), ("loudness_after", self.after)):
            if measured is not None:
                data.update(measured.rounded(prefix))
            else:
                data.update({f"{prefix}_lufs": None, f"{prefix}_true_peak_db": None, f"{prefix}_lra": None})
        return data


class AudioWriter:
    """Writes the kept audio of `tracks` for a list of spans (called once per trim, possibly in a worker
    thread) and keeps the report of what it did."""

    def __init__(self, src: Path, info: MediaInfo, tracks: list[int], settings: AudioSettings,
                 encode_reason: str = "") -> None:
        self.src, self.info, self.tracks, self.settings = src, info, tracks, settings
        self.encode_reason = encode_reason
        """Set when the caller already requires a re-encode (the template asks for one)."""
        self.rate = info.sample_rate or 48_000
        self.channels = 1 if samples.layout_for(info.channels) == "mono" else 2
        self.report = AudioReport(True, "not written yet")

    def _why_encode(self, spans: list[Span]) -> str:
        if self.encode_reason:
            return self.encode_reason
        if len(spans) > 1:
            return "several spans: audio re-encoded so every cut is exact"
        if len(self.tracks) > 1:
            return "several tracks of speech: mixed and re-encoded"
        if self.info.audio_codec not in cut.MP4_AUDIO_CODECS:
            return f"{self.info.audio_codec} audio cannot be stream-copied into MP4"
        if self.settings.loudness == "always":
            return "loudness always: audio re-encoded to normalise it"
        return ""

    def _pcm(self, spans: list[Span], fade_s: float) -> Iterator[bytes]:
        return samples.mixed_pcm(self.src, spans, self.rate, self.info.channels, self.tracks, fade_s)

    def _measure(self, spans: list[Span]) -> Loudness:
        return loudness.measure(self._pcm(spans, self.settings.fade_s), self.rate, self.channels,
                                f"measuring the loudness of {self.src.name}")

    def _encode(self, spans: list[Span], out: Path, gain: Gain | None) -> bytes:
        stream = loudness.pcm_input(self.rate, self.channels, gain)
        return ff.run_fed(stream.output(str(out), f="mp4", **cut.AUDIO_ENCODER), self._pcm(spans, self.settings.fade_s),
                          f"re-encoding the audio of {self.src.name}", loglevel="info" if gain else "error")

    def __call__(self, spans: list[Span], out: Path) -> Path:
        settings, why = self.settings, self._why_encode(spans)
        if not why:
            cut.copy_audio(self.src, self.info, spans[0], out, self.tracks[0])
            if settings.loudness == "off":
                self.report = AudioReport(True, "audio stream-copied; loudness off in the template")
                return out
            before = loudness.measure_span(self.src, spans[0], self.tracks[0],
                                           f"measuring the loudness of {self.src.name}")
            gain = loudness.gain_for(before, settings.target_lufs, settings.true_peak_db)
            self.report = AudioReport(True, "audio stream-copied: the gain to the target is recorded, not applied "
                                      "(loudness `always` re-encodes the audio to apply it)", before,
                                      gain_db=gain.gain_db if gain else None)
            return out
        fade_ms = settings.fade_s * 1000
        if settings.loudness == "off":
            self._encode(spans, out, None)
            self.report = AudioReport(False, f"{why}; loudness off in the template", fade_ms=fade_ms)
            return out
        before = self._measure(spans)
        gain = loudness.gain_for(before, settings.target_lufs, settings.true_peak_db)
        if gain is not None and loudness.limited(before, gain):
            through = loudness.measure_through(self._pcm(spans, settings.fade_s), self.rate, self.channels, gain,
                                               f"measuring the limited loudness of {self.src.name}")
            gain = loudness.corrected(gain, through, settings.target_lufs)
        log = self._encode(spans, out, gain)
        if gain is None:
            self.report = AudioReport(False, f"{why}; silent, nothing to normalise", before, fade_ms=fade_ms)
            return out
        self.report = AudioReport(False, f"{why}; normalised to {settings.target_lufs:g} LUFS, true peak "
                                  f"<= {settings.true_peak_db:g} dBTP", before, loudness.parse_summary(log),
                                  gain.gain_db, True, fade_ms)
        return out
