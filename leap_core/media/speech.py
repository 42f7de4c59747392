"""Where people speak in a recording, found by Silero VAD (shipped inside faster-whisper).

A voice-activity model, unlike a dB threshold, ignores pink room noise and mains hum. Only the audio
stream is demuxed and decoded (video packets are skipped, never decoded), resampled to 16 kHz mono
and scored in fixed blocks, so memory stays flat however long the lecture is. Head/tail trimming
needs only the first and last speech, so `speech_bounds` reads just the ends of the file.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av
import av.container
import numpy as np
from faster_whisper.vad import get_vad_model

from leap_core.errors import MediaError
from leap_core.media.probe import open_media

VAD_RATE = 16_000
WINDOW = 512
"""Silero scores 512-sample (32 ms) windows at 16 kHz."""
BLOCK = WINDOW * 2_000
"""Samples scored per model call (64 s, 4 MB of float32): larger blocks are no faster but the model's
working memory grows with them (100 MB more at faster-whisper's own 320 s)."""

CHUNK = WINDOW * 940
"""About 30 s: the step in which `speech_bounds` reads on into a head that holds too little speech."""
BOUNDS_STEP = WINDOW * 313
"""About 10 s: the step in which `speech_bounds` reads the head to its first speech and the tail back to its last."""
OVERLAP = WINDOW * 63
"""About 2 s read past each tail chunk: the model needs a little audio before a speech end to see it."""
MIDDLE_SAMPLES = 12
MIDDLE_SAMPLE_S = 10.0
MIDDLE_SHARE = 0.25
"""At most this share of the middle is sampled for the speech ratio, and never more than 12 samples."""
MIDDLE_BLOCK = WINDOW * round(MIDDLE_SAMPLE_S * VAD_RATE / WINDOW)
SCORING_THREADS = 2
"""faster-whisper's Silero session runs on one thread; pauses mode scores the whole file, so two blocks are
scored side by side while this thread decodes the next (the machine LEAP targets has two cores)."""
SCORING_BLOCK = WINDOW * 500
"""16 s: with blocks scored side by side each model call's working memory counts twice, so they are smaller."""

SAMPLING_MIN_S = 600.0
"""Recordings at least this long are sampled for speech before being read: a blank one is then judged
from the samples alone, whatever its length (a 3-hour blank recording took 85 s to read whole)."""
SAMPLE_S = 2.0
SAMPLE_SPACING_MIN_S = 10.0

Span = tuple[float, float]


@dataclass(frozen=True)
class VadSettings:
    """How probabilities become speech spans; the defaults suit lecture rooms."""

    threshold: float = 0.5
    neg_threshold: float = 0.35
    hangover_s: float = 0.2
    """Speech only ends after this much low probability, so a plosive's gap does not split a word."""
    min_speech_s: float = 0.25


@dataclass(frozen=True)
class SpeechAnalysis:
    spans: list[Span]
    """Speech found; from `speech_bounds` only those at the ends (enough for the first and last)."""
    analysed_s: float
    speech_seconds: float
    """Exact when every second was analysed (`analysed_s` covers the file), else extrapolated from samples."""
    samples: int = 0
    """Set when the verdict came from this many samples spread over the file (nothing sounded like speech)."""


class _Source:
    """One open container for every read of one audio track: head_tail reads a 3-minute file in about ten
    places (head, tail steps, middle samples), and opening an MP4 costs milliseconds each time."""

    def __init__(self, path: Path, track: int = 0) -> None:
        self.path = path
        self.container = open_media(path)
        if not self.container.streams.audio:
            self.container.close()
            raise MediaError(f"{path.name}: has no audio stream, so speech cannot be detected")
        self.stream = self.container.streams.audio[track]
        start = self.container.start_time
        self.origin = start / av.time_base if start else 0.0
        self.read = False

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *_: object) -> None:
        self.container.close()

    def seek(self, start_s: float) -> None:
        """To the audio packet at or before `start_s` (a first read from the start needs none)."""
        if (start_s > 0 or self.read) and self.stream.time_base:
            self.container.seek(int((start_s + self.origin) / self.stream.time_base), stream=self.stream,
                                backward=True)
        self.read = True


def _blocks(
    source: _Source, on_time: Callable[[float], None], start_s: float = 0.0, block: int = BLOCK
) -> Generator[tuple[float, np.ndarray], None, None]:
    """Yield (time of first sample, mono 16 kHz float32 block) pairs from the audio stream only,
    starting at the audio packet at or before `start_s`."""
    container, stream, origin = source.container, source.stream, source.origin
    resampler = av.AudioResampler(format="flt", layout="mono", rate=VAD_RATE)
    pending: list[np.ndarray] = []
    held = 0
    block_start: float | None = None
    try:
        source.seek(start_s)
        for frame in container.decode(stream):
            if block_start is None:
                block_start = (frame.time or 0.0) - origin
            for out in resampler.resample(frame):
                pending.append(out.to_ndarray()[0])
                held += out.samples
            while held >= block:
                data = np.concatenate(pending)
                yield block_start, data[:block]
                pending, held = [data[block:]], held - block
                block_start += block / VAD_RATE
            if frame.time is not None:
                on_time(frame.time - origin)
        for out in resampler.resample(None):
            pending.append(out.to_ndarray()[0])
    except av.error.FFmpegError as exc:
        raise MediaError(f"{source.path.name}: audio cannot be decoded ({exc.strerror})") from None
    rest = np.concatenate(pending) if pending else np.empty(0, dtype=np.float32)
    if len(rest) and block_start is not None:  # nothing left when the audio ends on a block boundary
        yield block_start, rest


def _probabilities(block: np.ndarray) -> np.ndarray:
    padded = np.pad(block, (0, -len(block) % WINDOW))
    return np.asarray(get_vad_model()(padded), dtype=np.float32).reshape(-1)


def _spans(starts: list[float], probs: list[np.ndarray], settings: VadSettings) -> list[Span]:
    """Hysteresis over window probabilities: speech starts at `threshold` and ends after `hangover_s`
    below `neg_threshold`."""
    step = WINDOW / VAD_RATE
    hangover = max(1, round(settings.hangover_s / step))
    spans: list[Span] = []
    opened: float | None = None
    quiet_since: float | None = None
    quiet = 0
    for start, block in zip(starts, probs, strict=True):
        for index, prob in enumerate(block):
            at = start + index * step
            if opened is None:
                if prob >= settings.threshold:
                    opened, quiet = at, 0
                continue
            if prob >= settings.neg_threshold:
                quiet = 0
                continue
            if quiet == 0:
                quiet_since = at
            quiet += 1
            if quiet >= hangover and quiet_since is not None:
                spans.append((opened, quiet_since))
                opened = None
    if opened is not None:
        end = starts[-1] + len(probs[-1]) * step
        spans.append((opened, quiet_since if quiet and quiet_since is not None else end))
    return [(s, e) for s, e in spans if e - s >= settings.min_speech_s]


@dataclass
class _Scores:
    """Window probabilities of consecutive blocks of one stretch of audio."""

    starts: list[float] = field(default_factory=list)
    probs: list[np.ndarray] = field(default_factory=list)

    @property
    def end(self) -> float:
        return self.starts[-1] + len(self.probs[-1]) * WINDOW / VAD_RATE if self.starts else 0.0

    def spans(self, settings: VadSettings) -> list[Span]:
        return _spans(self.starts, self.probs, settings) if self.starts else []


def _score(
    source: _Source,
    start_s: float = 0.0,
    block: int = BLOCK,
    done: Callable[[_Scores], bool] = lambda _: False,
    on_time: Callable[[float], None] = lambda _: None,
) -> _Scores:
    """Score audio from `start_s` block by block until the stream ends or `done` says enough."""
    scores = _Scores()
    blocks = _blocks(source, on_time, start_s, block)
    for start, data in blocks:
        scores.starts.append(start)
        scores.probs.append(_probabilities(data))
        if done(scores):
            break
    blocks.close()  # a read stopped early leaves the generator suspended: close it before the next seek
    return scores


def _score_all(path: Path, on_time: Callable[[float], None], track: int = 0) -> _Scores:
    """Score every block of the file, in order, with at most `SCORING_THREADS` + 1 blocks in memory."""
    scores = _Scores()
    pending: deque[tuple[float, Future[np.ndarray]]] = deque()

    def collect() -> None:
        start, probs = pending.popleft()
        scores.starts.append(start)
        scores.probs.append(probs.result())

    with _Source(path, track) as source, ThreadPoolExecutor(max_workers=SCORING_THREADS) as pool:
        for start, data in _blocks(source, on_time, block=SCORING_BLOCK):
            pending.append((start, pool.submit(_probabilities, data)))
            if len(pending) > SCORING_THREADS:
                collect()
        while pending:
            collect()
    return scores


def _seconds(spans: list[Span]) -> float:
    return sum(end - start for start, end in spans)


def detect_speech(
    path: Path,
    duration_s: float,
    settings: VadSettings = VadSettings(),
    progress: Callable[[float], None] | None = None,
    track: int = 0,
) -> SpeechAnalysis:
    """Every speech span, in seconds from the start of the file; `progress` gets the fraction analysed."""

    def on_time(seconds: float) -> None:
        if progress is not None:
            progress(min(seconds / duration_s, 1.0))

    scores = _score_all(path, on_time, track)
    found = scores.spans(settings)
    return SpeechAnalysis(spans=found, analysed_s=scores.end, speech_seconds=_seconds(found))


def _has_speech(settings: VadSettings) -> Callable[[_Scores], bool]:
    """Whether the head holds any speech yet; the span search runs only once the newest block has a window
    above the lower threshold (a silent hour of head would otherwise search every block again)."""

    def done(scores: _Scores) -> bool:
        return bool(np.any(scores.probs[-1] >= settings.neg_threshold)) and bool(scores.spans(settings))

    return done


def _has_enough(settings: VadSettings, enough_s: float) -> Callable[[_Scores], bool]:
    """Whether the head holds `enough_s` of speech; counts likely windows first, since a silent hour
    would otherwise re-run the span search after every block."""
    step = WINDOW / VAD_RATE

    def done(scores: _Scores) -> bool:
        likely = sum(int(np.count_nonzero(p >= settings.neg_threshold)) for p in scores.probs) * step
        return likely >= enough_s / 2 and _seconds(scores.spans(settings)) >= max(enough_s, step)

    return done


def _last_speech(
    source: _Source, duration_s: float, after_s: float, settings: VadSettings
) -> tuple[list[Span], float]:
    """Speech in the last chunk that holds any, stepping back from the end one chunk at a time (each read
    with a little of the chunk after it, so speech ending at a boundary is not missed) but never before
    `after_s`; also where reading stopped."""
    chunk = BOUNDS_STEP / VAD_RATE
    end = duration_s
    while end > after_s:
        start = max(after_s, end - chunk)
        scores = _score(source, start, BOUNDS_STEP + OVERLAP, lambda _: True)
        found = [(s, e) for s, e in scores.spans(settings) if e > after_s]
        if found:
            return found, start
        end = start
    return [], after_s


def _middle_ratio(
    source: _Source, start_s: float, end_s: float, settings: VadSettings
) -> tuple[float, float]:
    """Share of speech in evenly spread samples of the middle, and the seconds sampled."""
    count = min(MIDDLE_SAMPLES, math.ceil((end_s - start_s) * MIDDLE_SHARE / MIDDLE_SAMPLE_S))
    if count == 0:
        return 0.0, 0.0
    every = (end_s - start_s) / count
    speech = sampled = 0.0
    for index in range(count):
        at = start_s + (index + 0.5) * every - MIDDLE_SAMPLE_S / 2
        scores = _score(source, at, MIDDLE_BLOCK, lambda _: True)
        speech += _seconds(scores.spans(settings))
        sampled += scores.end - scores.starts[0] if scores.starts else 0.0
    return (speech / sampled if sampled else 0.0), sampled


def speech_bounds(
    path: Path,
    duration_s: float,
    enough_speech_s: float,
    settings: VadSettings = VadSettings(),
    progress: Callable[[float], None] | None = None,
    track: int = 0,
    on_first: Callable[[float], None] | None = None,
) -> SpeechAnalysis:
    """The first and last speech, reading only the ends of the file: head_tail's analysis, whose cost
    does not grow with the lecture. `on_first` hears where the first speech starts as soon as it is known,
    before the tail is read (the trim encodes the head's frames meanwhile).

    The head is read in short steps to its first speech, the tail back to its last, and the middle's
    share of speech is estimated from a few short samples. A blank verdict stays exact: when the speech
    actually heard (head, tail, samples) is under `enough_speech_s`, the head is read on from where it
    stopped until head and tail hold that much, or to the tail (then every second was heard). Stopping
    the head at the first speech, not at `enough_speech_s` (30 s by default), roughly halves the audio a
    3-minute lecture sends through the model (ADR 0029, amendment of 2026-12-04 evening).
    """

    def on_time(seconds: float) -> None:
        if progress is not None:
            progress(min(seconds / duration_s, 1.0))

    with _Source(path, track) as source:
        return _bounds(source, duration_s, enough_speech_s, settings, on_time, on_first)


def _bounds(
    source: _Source, duration_s: float, enough_speech_s: float, settings: VadSettings,
    on_time: Callable[[float], None], on_first: Callable[[float], None] | None,
) -> SpeechAnalysis:
    """`speech_bounds` on an open source."""
    head = _score(source, block=BOUNDS_STEP, done=_has_speech(settings), on_time=on_time)
    head_spans = head.spans(settings)
    if head.end >= duration_s - WINDOW / VAD_RATE:
        return SpeechAnalysis(head_spans, head.end, _seconds(head_spans))
    if on_first is not None and head_spans:
        on_first(head_spans[0][0])
    tail_spans, tail_start = _last_speech(source, duration_s, head.end, settings)
    ends = _seconds(head_spans) + _seconds(tail_spans)
    ratio, sampled = _middle_ratio(source, head.end, tail_start, settings)
    head_end = head.end
    if ends + ratio * sampled < enough_speech_s:
        more_spans, head_end = _head_until(source, head.end, tail_start, enough_speech_s - ends, settings)
        head_spans += more_spans
        ends += _seconds(more_spans)
        ratio, sampled = _middle_ratio(source, head_end, tail_start, settings)
    on_time(duration_s)
    speech = ends + ratio * (tail_start - head_end)
    return SpeechAnalysis(head_spans + tail_spans, head_end + sampled + duration_s - tail_start, speech)


def _head_until(
    source: _Source, start_s: float, tail_start: float, enough_s: float, settings: VadSettings
) -> tuple[list[Span], float]:
    """The speech from `start_s` on, read until it holds `enough_s` or reaches the tail already read;
    also where reading stopped (never past `tail_start`)."""
    enough = _has_enough(settings, enough_s)
    more = _score(source, start_s, CHUNK, lambda scores: scores.end >= tail_start or enough(scores))
    spans = [(s, min(e, tail_start)) for s, e in more.spans(settings) if s < tail_start]
    return spans, min(more.end, tail_start)


def _sample(container: av.container.InputContainer, stream: av.AudioStream, at: float, origin: float) -> np.ndarray:
    """`SAMPLE_S` of mono 16 kHz audio from the audio packet at or before `at`: a seek in the open file
    (opening a 3-hour MP4 once per sample would cost more than decoding the samples)."""
    assert stream.time_base is not None
    container.seek(int((at + origin) / stream.time_base), stream=stream, backward=True)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=VAD_RATE)
    wanted = round(SAMPLE_S * VAD_RATE)
    pieces: list[np.ndarray] = []
    held = 0
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            pieces.append(out.to_ndarray()[0])
            held += out.samples
        if held >= wanted:
            break
    return np.concatenate(pieces)[:wanted] if pieces else np.empty(0, dtype=np.float32)


def sampled_blank(
    path: Path, duration_s: float, enough_speech_s: float, settings: VadSettings = VadSettings(), track: int = 0
) -> SpeechAnalysis | None:
    """A blank verdict from samples, or None when any sample sounds like speech (then the caller reads the
    file as usual, which confirms or refutes it).

    Samples are `SAMPLE_S` long and at most `enough_speech_s` apart, so any stretch of speech long enough
    to make the recording not blank overlaps one; a sample "sounds like speech" from a single window at
    the VAD's lower threshold, so quiet or brief speech still sends the file to be read whole."""
    if duration_s < SAMPLING_MIN_S:
        return None
    spacing = max(min(enough_speech_s, duration_s / 4), SAMPLE_SPACING_MIN_S)
    count = max(1, int(duration_s // spacing))
    sampled = 0.0
    with open_media(path) as container:
        if not container.streams.audio:
            raise MediaError(f"{path.name}: has no audio stream, so speech cannot be detected")
        stream = container.streams.audio[track]
        origin = container.start_time / av.time_base if container.start_time else 0.0
        try:
            for index in range(count):
                data = _sample(container, stream, (index + 0.5) * duration_s / count - SAMPLE_S / 2, origin)
                if len(data) and float(_probabilities(data).max()) >= settings.neg_threshold:
                    return None
                sampled += len(data) / VAD_RATE
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path.name}: audio cannot be decoded ({exc.strerror})") from None
    return SpeechAnalysis([], sampled, 0.0, samples=count)


TRACK_SAMPLES = 24
"""Samples per track when a recording has several: enough to tell a microphone from a silent desktop."""


def track_speech(path: Path, duration_s: float, tracks: int, settings: VadSettings = VadSettings()) -> list[float]:
    """Estimated seconds of speech on each audio track: a short recording's tracks are read whole, a long
    one's from `TRACK_SAMPLES` samples of `SAMPLE_S` spread over it (one open container per track)."""
    if duration_s <= TRACK_SAMPLES * SAMPLE_S * 2:
        return [detect_speech(path, duration_s, settings, track=track).speech_seconds for track in range(tracks)]
    estimates = []
    for track in range(tracks):
        with open_media(path) as container:
            stream = container.streams.audio[track]
            origin = container.start_time / av.time_base if container.start_time else 0.0
            speech = heard = 0.0
            try:
                for index in range(TRACK_SAMPLES):
                    data = _sample(container, stream, (index + 0.5) * duration_s / TRACK_SAMPLES, origin)
                    if len(data):
                        probs = _probabilities(data)
                        speech += float(np.count_nonzero(probs >= settings.threshold)) * WINDOW / VAD_RATE
                        heard += len(data) / VAD_RATE
            except av.error.FFmpegError as exc:
                raise MediaError(f"{path.name}: audio track {track + 1} cannot be decoded ({exc.strerror})") from None
        estimates.append(speech / heard * duration_s if heard else 0.0)
    return estimates
