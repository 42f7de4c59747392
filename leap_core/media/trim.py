"""Trimming a recording to its speech: the `trim` stage's whole job, without Dagster.

Order matters for cost: probe (milliseconds), then speech analysis (audio only), then — only if the
recording is not blank — the cut. A blank recording is reported, not written; a cut is written to a
temporary file beside the destination and renamed into place, so a failure never leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from leap_core.errors import MediaError
from leap_core.media import cut, smart_cut, spans, tracks
from leap_core.media.audio import AudioReport, AudioSettings, AudioWriter
from leap_core.media.probe import Keyframes, MediaInfo, probe
from leap_core.media.speech import SpeechAnalysis, VadSettings, detect_speech, sampled_blank, speech_bounds

ANALYSIS_SHARE = 0.5
"""Part of the progress bar given to speech analysis; the cut takes the rest."""
EARLY_HEAD = True
"""head_tail encodes its head while the tail is searched (`_EarlyHead`); off only to measure what that buys
(`bench/trim.py --early-head`)."""

Method = Literal["copy", "smart_cut", "reencode"]
Progress = Callable[[float], None]


class TrimConfig(BaseModel):
    """How a template wants its recordings trimmed; stored as JSON in the template."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["head_tail", "pauses"] = "head_tail"
    margin_s: float = Field(default=1.0, ge=0, description="Kept around speech at every cut.")
    min_speech_s: float = Field(default=0.25, ge=0, description="Shorter voice (a cough) is not speech.")
    min_pause_s: float = Field(default=3.0, gt=0, description="pauses mode: longer silences are cut.")
    blank_min_speech_s: float = Field(default=30.0, ge=0, description="Less speech in total: blank.")
    min_duration_s: float = Field(default=10.0, ge=0, description="Shorter recordings are blank.")
    method: Literal["auto", "reencode"] = Field(default="auto", description="auto: copy or smart cut.")
    keyframe_snap_s: float = Field(
        default=0.0, ge=0,
        description="A cut may start up to this much earlier, through the silence being cut, to land on a "
                    "keyframe and be copied instead of re-encoded; 0 keeps every cut where the margin puts it.",
    )
    loudness: Literal["auto", "always", "off"] = Field(
        default="auto",
        description="auto: normalise where the audio is re-encoded, record the gain where it is copied; "
                    "always: re-encode the audio (never the video) to normalise it; off: leave it as recorded.",
    )
    loudness_target_lufs: float = Field(default=-16.0, ge=-40, le=-5, description="EBU R128 integrated target.")
    loudness_true_peak_db: float = Field(default=-1.5, ge=-9, le=0, description="True-peak ceiling, dBTP.")
    fade_ms: float = Field(default=10.0, ge=0, le=100, description="Audio fade at every cut of re-encoded audio.")

    def audio(self) -> AudioSettings:
        return AudioSettings(self.loudness, self.loudness_target_lufs, self.loudness_true_peak_db, self.fade_ms / 1000)


@dataclass(frozen=True)
class TrimResult:
    """What was cut and how; `to_dict()` is what the asset metadata and `leap media trim --json` show."""

    status: Literal["ok", "blank"]
    input_duration: float
    speech_seconds: float
    speech_start: float | None
    speech_end: float | None
    kept: list[tuple[float, float]] = field(default_factory=list)
    output_duration: float = 0.0
    output_path: Path | None = None
    method: Method | None = None
    method_reason: str = ""
    mode: str = "head_tail"
    analysed_seconds: float = 0.0
    """Audio the VAD read; under `input_duration` (head_tail on a long file) `speech_seconds` is estimated."""
    audio: tracks.TrackChoice = field(default_factory=lambda: tracks.TrackChoice([0]))
    """Which audio tracks were trimmed by and kept, and why."""
    audio_out: AudioReport | None = None
    """How the kept audio was written: copied or re-encoded, its loudness before and after, the fades."""

    @property
    def speech_ratio(self) -> float:
        return self.speech_seconds / self.input_duration if self.input_duration else 0.0

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("audio")
        data.update(self.audio.to_dict())
        data.pop("audio_out")
        data.update(self.audio_out.to_dict() if self.audio_out else {})
        data["kept"] = [[round(s, 3), round(e, 3)] for s, e in self.kept]
        data["output_path"] = str(self.output_path) if self.output_path else None
        data["speech_ratio"] = round(self.speech_ratio, 4)
        data["cut_list_md"] = spans.markdown_table(self.kept)
        return data


def output_path_for(dst: Path, info: MediaInfo) -> Path:
    """Video stays MP4 at `dst`; audio-only recordings (a Zoom M4A) stay audio, as `dst` with `.m4a`."""
    return dst if info.has_video else dst.with_suffix(".m4a")


def _blank_reason(info: MediaInfo, speech: SpeechAnalysis | None, config: TrimConfig) -> str | None:
    if info.duration_s < config.min_duration_s:
        return f"{info.duration_s:.1f} s is shorter than the {config.min_duration_s:g} s minimum"
    if speech is not None and speech.samples:
        return f"no speech in {speech.samples} samples spread over the recording ({speech.analysed_s:.0f} s heard)"
    if speech is not None and speech.speech_seconds < config.blank_min_speech_s:
        return f"only {speech.speech_seconds:.1f} s of speech (needs {config.blank_min_speech_s:g} s)"
    return None


def _analyse_track(
    src: Path, info: MediaInfo, config: TrimConfig, progress: Progress | None, track: int,
    on_first: Callable[[float], None] | None = None,
) -> SpeechAnalysis:
    """A long recording is sampled first, so a blank one costs the samples only; otherwise head_tail needs
    only the first and last speech, so it reads the ends, and pauses reads it all."""
    vad = VadSettings(min_speech_s=config.min_speech_s)
    blank = sampled_blank(src, info.duration_s, config.blank_min_speech_s, vad, track)
    if blank is not None:
        return blank
    if config.mode == "head_tail":
        return speech_bounds(src, info.duration_s, config.blank_min_speech_s, vad, progress, track, on_first)
    return detect_speech(src, info.duration_s, vad, progress, track)


def _analyse(
    src: Path, info: MediaInfo, config: TrimConfig, progress: Progress | None, used: list[int],
    on_first: Callable[[float], None] | None = None,
) -> SpeechAnalysis:
    """Speech on every track used: their spans joined, so a mixed lecture keeps whoever speaks. `on_first`
    hears the first speech of a lone track (with several, it is known only once every track is read)."""
    if len(used) == 1:
        return _analyse_track(src, info, config, progress, used[0], on_first)
    found = [_analyse_track(src, info, config, progress, track) for track in used]
    joined = spans.merge_close(sorted(span for analysis in found for span in analysis.spans), 0.0)
    samples = min(analysis.samples for analysis in found)
    return SpeechAnalysis(joined, sum(a.analysed_s for a in found), max(a.speech_seconds for a in found), samples)


def _kept(speech: SpeechAnalysis, info: MediaInfo, config: TrimConfig) -> list[spans.Span]:
    if config.mode == "head_tail":
        kept = spans.head_tail(speech.spans, config.margin_s, info.duration_s)
    else:
        kept = spans.without_pauses(speech.spans, config.margin_s, config.min_pause_s, info.duration_s)
    return spans.on_frame_grid(kept, info.fps, info.duration_s) if info.has_video and info.fps else kept


def _snapped(src: Path, info: MediaInfo, kept: list[spans.Span], config: TrimConfig) -> list[spans.Span]:
    """Spans started on earlier keyframes where the template allows it: keeping a little more pause costs
    nothing a viewer minds, and a span starting on a keyframe needs no frame re-encoded."""
    if not config.keyframe_snap_s or not info.has_video or not info.fps or config.method == "reencode":
        return kept
    half = info.frame_duration / 2
    with Keyframes(src) as keyframes:
        return spans.snapped_back(kept, lambda at: keyframes.at_or_before(at, half), config.keyframe_snap_s,
                                  info.frame_duration)


def _choose(info: MediaInfo, config: TrimConfig) -> tuple[Method, str]:
    """Pick the cheapest exact method for this input, and say why when it is the slow one."""
    if config.method == "reencode":
        return "reencode", "the template asks for a re-encode"
    if not info.has_video:
        return "copy", "audio-only recording: audio packets copied"
    if info.video_codec not in cut.SMART_CUT_CODECS:
        return "reencode", f"smart cut supports H.264 and HEVC, this video is {info.video_codec}"
    if not info.fps:
        return "reencode", "the video has no frame rate to cut on"
    order = "with B-frames" if info.b_frames else "without B-frames"
    rate = ", variable frame rate (every frame keeps its time)" if info.vfr else ""
    return "smart_cut", (f"{info.video_codec} {order}{rate}: frames from each cut to the next keyframe "
                         "re-encoded, the rest copied")


def _write_audio_only(kept: list[spans.Span], out: Path, audio: AudioWriter) -> tuple[Method, str]:
    audio(kept, out)
    if audio.report.copied:
        return "copy", "audio-only recording: audio packets copied"
    return "reencode", f"audio-only recording: {audio.report.reason.split(';')[0]}"


def _write(
    src: Path, info: MediaInfo, kept: list[spans.Span], out: Path, workdir: Path, config: TrimConfig,
    progress: Progress | None, audio: AudioWriter, early: smart_cut.EarlyHead | None = None,
) -> tuple[Method, str, list[spans.Span]]:
    """Write the cut; returns the method, why, and the spans written (a smart cut may end some a few
    frames early, inside their margin, to copy them whole)."""
    if not info.has_video:
        return (*_write_audio_only(kept, out, audio), kept)
    method, reason = _choose(info, config)
    if method == "smart_cut":
        try:
            done = smart_cut.smart_cut(src, info, kept, out, workdir, progress, audio,
                                       slack=min(cut.END_SLACK_S, config.margin_s), early=early)
        except MediaError as exc:
            method, reason = "reencode", f"smart cut failed ({exc}); re-encoded instead"
        else:
            moved = f"; {done.ends_moved} span end(s) moved up to {cut.END_SLACK_S:g} s earlier to a clean end" \
                if done.ends_moved else ""
            if not done.reencoded_pieces:
                return "copy", f"every cut falls on a keyframe: copied{moved}", done.spans
            return "smart_cut", f"{reason}; {done.reencoded_pieces} piece(s) re-encoded{moved}", done.spans
    cut.reencode(src, info, kept, out, workdir, progress, audio)
    return method, reason, kept


def _stage(progress: Progress | None, start: float, share: float) -> Progress | None:
    if progress is None:
        return None
    return lambda fraction: progress(start + share * fraction)


class _Workdir:
    """The trim's temporary directory beside the output, made on first use: a recording found blank before
    anything was encoded leaves no directory behind, not even the output's parent if it made it."""

    def __init__(self, parent: Path) -> None:
        self.parent = parent
        self._made_parent = False
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def path(self) -> Path:
        if self._dir is None:
            self._made_parent = not self.parent.exists()
            self.parent.mkdir(parents=True, exist_ok=True)
            self._dir = tempfile.TemporaryDirectory(prefix=".leap-trim-", dir=self.parent)
        return Path(self._dir.name)

    def close(self, wrote: bool) -> None:
        if self._dir is not None:
            self._dir.cleanup()
        if self._made_parent and not wrote and not any(self.parent.iterdir()):
            self.parent.rmdir()


class _EarlyHead:
    """Starts encoding head_tail's head as soon as the first speech is known (`smart_cut.EarlyHead`)."""

    def __init__(self, src: Path, info: MediaInfo, config: TrimConfig, work: _Workdir) -> None:
        self.src, self.info, self.config, self.work = src, info, config, work
        self.head: smart_cut.EarlyHead | None = None

    @staticmethod
    def applies(info: MediaInfo, config: TrimConfig) -> bool:
        """Only where the cut's start is exactly what `_kept` will make of the first speech: no keyframe
        snap, and a smart cut (an audio-only file or a re-encode has no head to start early)."""
        return (EARLY_HEAD and config.mode == "head_tail" and info.has_video and not config.keyframe_snap_s
                and _choose(info, config)[0] == "smart_cut")

    def __call__(self, first_speech: float) -> None:
        if self.info.duration_s - first_speech < self.config.blank_min_speech_s:
            return  # too little left to hold enough speech: the recording is blank, there will be no cut
        kept = _kept(SpeechAnalysis([(first_speech, self.info.duration_s)], 0.0, 0.0), self.info, self.config)
        if kept:
            self.head = smart_cut.EarlyHead(self.src, self.info, kept[0][0], self.work.path)

    def close(self) -> None:
        if self.head is not None:
            self.head.close()


def trim(
    src: Path, dst: Path, config: TrimConfig = TrimConfig(), progress: Progress | None = None
) -> TrimResult:
    """Cut `src` to its speech, writing `dst` (or `dst` with `.m4a` for audio-only input; see output_path).

    Returns status "blank" without writing anything when the recording is too short or nearly silent.
    Raises MediaError for files that cannot be used (unreadable, truncated, video without audio).
    """
    src, dst = Path(src), Path(dst)
    info = probe(src)
    if not info.has_audio:
        raise MediaError(f"{src.name}: video has no audio stream, so there is no speech to trim to")
    too_short = _blank_reason(info, None, config)
    if too_short:
        return TrimResult("blank", info.duration_s, 0.0, None, None,
                          mode=config.mode, method_reason=too_short)
    audio = tracks.choose_tracks(src, info, VadSettings(min_speech_s=config.min_speech_s))
    out = output_path_for(dst, info)
    work = _Workdir(out.parent)
    early = _EarlyHead(src, info, config, work) if _EarlyHead.applies(info, config) else None
    wrote = False
    try:
        speech = _analyse(src, info, config, _stage(progress, 0.0, ANALYSIS_SHARE), audio.tracks, early)
        start = speech.spans[0][0] if speech.spans else None
        end = speech.spans[-1][1] if speech.spans else None
        blank = _blank_reason(info, speech, config)
        if blank or not speech.spans:
            return TrimResult("blank", info.duration_s, speech.speech_seconds, start, end,
                              method_reason=blank or "no speech", mode=config.mode,
                              analysed_seconds=speech.analysed_s, audio=audio)
        kept = _snapped(src, info, _kept(speech, info, config), config)
        partial = work.path / f"partial{out.suffix}"
        # Audio-only input forced to a re-encode re-encodes its audio; a video's audio follows its own rules.
        forced = "the template asks for a re-encode" if config.method == "reencode" and not info.has_video else ""
        writer = AudioWriter(src, info, audio.tracks, config.audio(), forced)
        method, reason, kept = _write(src, info, kept, partial, work.path, config,
                                      _stage(progress, ANALYSIS_SHARE, 1 - ANALYSIS_SHARE), writer,
                                      early.head if early else None)
        written = probe(partial)
        os.replace(partial, out)
        wrote = True
    finally:
        if early is not None:
            early.close()
        work.close(wrote)
    if progress is not None:
        progress(1.0)
    return TrimResult("ok", info.duration_s, speech.speech_seconds, start, end, kept, written.duration_s, out,
                      method, reason, config.mode, speech.analysed_s, audio, writer.report)
