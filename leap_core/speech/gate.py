"""The integrity gate applied to a transcript: untrustworthy segments dropped, uncovered speech re-transcribed.

The rules live in `integrity` (pure functions); this module is the repair loop around them. Speech spans
are the VAD's, measured on the *trimmed* file the transcriber heard (ADR 0038): in that timeline no offset
after head/tail or pause cutting has to be replayed, and the spans are stored beside the transcript
(`speech.json`) so the asset check re-reads the same facts the stage decided on.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Protocol

from leap_core.disk import write_text_atomic
from leap_core.speech.integrity import IntegrityReport, Span, check, why_dropped
from leap_core.speech.subtitles import Cue
from leap_core.speech.transcript import Segment, Transcript

MIN_GAP_S = 1.0
"""Uncovered speech shorter than this is a pause inside a cue's margin, not lost text."""
PAD_S = 0.25
"""Audio kept either side of a re-transcribed gap, so its first and last words are not clipped."""
SPLIT_AT_S = 2.0
"""A pause this long between two words of one segment splits it before the rules judge it (`at_pauses`)."""
SPLIT_EDGE_S = 0.5
"""Under half of SPLIT_AT_S, so the parts of one segment never overlap."""
MERGE_WITHIN_S = 30.0
"""Uncovered speech this close, with no segment between, is re-transcribed as one clip (one Whisper window)."""
SHORT_CLIP_S = 10.0
"""Speech the whole-gap repair left uncovered is tried once more in clips of at most this length, split at
the VAD's pauses (`short_clips`). A lecture that really repeats its sentences (dictation, drills, the
bench's three-sentence cycle) compresses like a decoder loop over a 30 s window (2.9-3.1, Whisper's limit
is 2.4) but not over one or two sentences; a decoder stuck in a loop over real speech breaks out of it in a
shorter window too."""
SNAP_S = 0.5
"""A re-transcribed clip's first and last segment reach the clip's speech bounds when they stop this close to
them: Whisper's segment times on a tight clip fall 0.1-0.35 s inside the VAD's (seen on a Flite voice's
drill: 2.5 % of the speech uncovered in 0.1-0.35 s slivers, one per clip), and the clip holds nothing else."""
MAX_SHORT_CLIPS = 180
"""At most this many short clips per transcript (30 minutes of speech): a decoder that fails everywhere is
reported by the gate, not sent the lecture again sentence by sentence."""


class SpanTranscriber(Protocol):
    def transcribe(self, audio: Path, *, work_dir: Path) -> Transcript: ...


@dataclass
class GateResult:
    transcript: Transcript
    report: IntegrityReport
    repaired: list[Span] = field(default_factory=list)

    def metadata(self) -> dict[str, object]:
        return {**self.report.metadata(), "repaired_spans": len(self.repaired),
                "repaired": [[round(s, 2), round(e, 2)] for s, e in self.repaired[:50]]}


def segment_cue(segment: Segment) -> Cue:
    return Cue(segment.start, segment.end, (segment.text.strip(),))


def at_pauses(segment: Segment) -> list[Segment]:
    """The segment split where its words pause SPLIT_AT_S or longer, each part timed by its own words.

    Batched decoding packs the VAD's speech into 30 s windows with the silence cut out, so one segment can
    run from a sentence before a break to one after it (0.7-126.2 s around a 100 s break with music).
    Judged whole, such a segment is mostly "non-speech" and real speech was dropped and re-decoded; kept
    whole, it would count the break as covered and hide text invented inside it. Its words are timed right,
    to a few hundred ms: each part reaches SPLIT_EDGE_S past its first and last word, as the VAD's span does."""
    words = segment.words
    cuts = [i for i in range(1, len(words)) if words[i].start - words[i - 1].end >= SPLIT_AT_S]
    if not cuts:
        return [segment]
    bounds = [0, *cuts, len(words)]
    return [Segment(start=max(segment.start, words[a].start - SPLIT_EDGE_S),
                    end=min(segment.end, words[b - 1].end + SPLIT_EDGE_S),
                    text=" ".join(w.text for w in words[a:b]), words=words[a:b]) for a, b in pairwise(bounds)]


def _uncovered_pieces(segments: Sequence[Segment], speech: Sequence[Span]) -> list[Span]:
    """Every part of the speech spans no segment covers, however short."""
    covered = sorted((s.start, s.end) for s in segments)
    pieces: list[Span] = []
    for start, end in speech:
        at = start
        for s, e in covered:
            if e <= at or s >= end:
                continue
            if s > at:
                pieces.append((at, s))
            at = max(at, e)
        if end > at:
            pieces.append((at, end))
    return pieces


def uncovered(segments: Sequence[Segment], speech: Sequence[Span], min_gap: float = MIN_GAP_S) -> list[Span]:
    """Uncovered speech to re-transcribe: pieces no segment separates (and under MERGE_WITHIN_S apart) are one
    gap, kept when it holds at least `min_gap` of speech.

    A decoder that stops early leaves every later VAD span uncovered: one gap per span would cost one
    request per sentence and, where it stopped mid-sentence, leave the sub-second rest of that sentence
    unrepaired (found by the injected cut-short decode: 97.1 % coverage after repair, a failed stage)."""
    groups: list[list[Span]] = []
    for piece in _uncovered_pieces(segments, speech):
        if groups:
            last = groups[-1][-1]
            between = any(s.start < piece[0] and s.end > last[1] for s in segments)
            if not between and piece[0] - last[1] <= MERGE_WITHIN_S:
                groups[-1].append(piece)
                continue
        groups.append([piece])
    return [(group[0][0], group[-1][1]) for group in groups if sum(e - s for s, e in group) >= min_gap]


def short_clips(gap: Span, speech: Sequence[Span], longest: float = SHORT_CLIP_S) -> list[Span]:
    """The speech inside `gap` as clips of at most `longest` seconds: whole VAD spans grouped while they fit,
    a span longer than `longest` cut into equal parts (no pause to split it at)."""
    inside = [(max(s, gap[0]), min(e, gap[1])) for s, e in speech if s < gap[1] and e > gap[0]]
    clips: list[Span] = []
    for start, end in inside:
        if clips and end - clips[-1][0] <= longest:
            clips[-1] = (clips[-1][0], end)
            continue
        parts = max(1, math.ceil((end - start) / longest))
        step = (end - start) / parts
        clips.extend((start + k * step, start + (k + 1) * step) for k in range(parts))
    return clips


def _overlap(segment: Segment, kept: Sequence[Segment]) -> float:
    """Seconds `segment` shares with kept ones: up to the padding it is the clip's margin, beyond it the same
    words heard twice."""
    return sum(max(0.0, min(segment.end, k.end) - max(segment.start, k.start)) for k in kept)


def _trusted(segments: Sequence[Segment], speech: Sequence[Span], language: str) -> list[Segment]:
    return [s for s in _split(segments) if s.text.strip() and why_dropped(segment_cue(s), speech, language) is None]


def _split(segments: Sequence[Segment]) -> list[Segment]:
    return [part for segment in segments for part in at_pauses(segment)]


def _retranscribe(media: Path, gap: Span, duration: float, transcriber: SpanTranscriber,
                  work_dir: Path, index: int) -> list[Segment]:
    """One gap on its own: a short file cut from the trimmed media, its segments moved to the gap's time."""
    from leap_core.speech.audio import encode_upload  # deferred: ffmpeg helpers are not needed to check

    start = max(0.0, gap[0] - PAD_S)
    seconds = min(duration, gap[1] + PAD_S) - start
    folder = work_dir / f"gap-{index}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    clip = encode_upload(media, start, seconds, folder / "gap.mp3")
    heard = transcriber.transcribe(clip, work_dir=folder / "chunks")
    shutil.rmtree(folder, ignore_errors=True)
    return snapped([s.model_copy(update={"start": s.start + start, "end": min(s.end + start, start + seconds),
                                         "words": [w.model_copy(update={"start": w.start + start,
                                                                        "end": w.end + start}) for w in s.words]})
                    for s in heard.segments], gap)


def snapped(segments: list[Segment], gap: Span) -> list[Segment]:
    """The clip's first segment from the gap's start and its last to the gap's end, where they are SNAP_S close."""
    if not segments:
        return segments
    first, last = segments[0], segments[-1]
    if 0.0 < first.start - gap[0] <= SNAP_S:
        segments[0] = first = first.model_copy(update={"start": gap[0]})
    if 0.0 < gap[1] - last.end <= SNAP_S:
        segments[-1] = (first if len(segments) == 1 else last).model_copy(update={"end": gap[1]})
    return segments


def apply_gate(transcript: Transcript, speech: Sequence[Span], *, media: Path | None = None,
               transcriber: SpanTranscriber | None = None, work_dir: Path | None = None) -> GateResult:
    """Drop what the rules distrust, re-transcribe each uncovered speech gap (whole, then what is still
    uncovered in short clips), merge, and judge the result."""
    spans = sorted((float(s), float(e)) for s, e in speech if e > s)
    first = check([segment_cue(s) for s in _split(transcript.segments)], spans, transcript.language)
    kept = _trusted(transcript.segments, spans, transcript.language)
    repaired: list[Span] = []
    if media is not None and transcriber is not None and work_dir is not None:
        def repair(clips: Sequence[Span], offset: int) -> None:
            for index, clip in enumerate(clips, start=offset):
                found = _trusted(_retranscribe(media, clip, transcript.duration, transcriber, work_dir, index),
                                 spans, transcript.language)
                found = [s for s in found if _overlap(s, kept) <= 2 * PAD_S]
                if found:
                    kept.extend(found)
                    repaired.append(clip)

        gaps = uncovered(kept, spans)
        repair(gaps, 0)
        short = [clip for gap in uncovered(kept, spans) for clip in short_clips(gap, spans)]
        if len(short) <= MAX_SHORT_CLIPS:
            repair(short, len(gaps))
    kept.sort(key=lambda s: s.start)
    final = check([segment_cue(s) for s in kept], spans, transcript.language)
    final.dropped = first.dropped + final.dropped
    return GateResult(transcript.model_copy(update={"segments": kept}), final, repaired)


def write_speech(path: Path, speech: Sequence[Span]) -> None:
    spans = [[round(s, 3), round(e, 3)] for s, e in speech]
    write_text_atomic(path, json.dumps({"timeline": "trimmed", "spans": spans}))


def read_speech(path: Path) -> list[Span]:
    return [(float(s), float(e)) for s, e in json.loads(path.read_text())["spans"]]
