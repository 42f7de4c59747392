"""The smart cut: which frames of each kept span are copied and which re-encoded, then writing them.

A span [start, end) becomes up to three pieces: a head re-encoded from `start` to the first keyframe in
the span, the source's packets copied from that keyframe to the last clean end (`Gops.clean_end`), and,
only when that clean end is further from `end` than the slack allows, a tail re-encoded up to `end`.
A span without a keyframe inside is re-encoded whole. The plan is made before anything is written, so
the audio is cut at the same (possibly moved) ends, beside the encoding.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from leap_core.errors import MediaError
from leap_core.media import bitstream, cut, remux
from leap_core.media.cut import Encode
from leap_core.media.ffmpeg import Progress
from leap_core.media.gops import Gops
from leap_core.media.probe import MediaInfo, open_media
from leap_core.media.spans import Span


@dataclass(frozen=True)
class _Copy:
    keyframe_dts: int
    start: float
    end: float


@dataclass
class Plan:
    """Kept spans as they will be written, the pieces of each in output order, and the frames to encode."""

    spans: list[Span] = field(default_factory=list)
    pieces: list[tuple[Encode | _Copy, float]] = field(default_factory=list)
    """Each piece with where its span starts in the source (its frames move by output start - this)."""
    ends_moved: int = 0

    @property
    def jobs(self) -> list[Encode]:
        return [piece for piece, _ in self.pieces if isinstance(piece, Encode)]

    @property
    def copied_whole(self) -> bool:
        return not self.jobs


@dataclass(frozen=True)
class SmartCut:
    """What `smart_cut` did: the spans written and how many pieces were re-encoded."""

    spans: list[Span]
    reencoded_pieces: int
    ends_moved: int


def _encode(gops: Gops, start: float, end: float, out: Path, quarter: float) -> Encode:
    before = gops.last_at_or_before(start + quarter)
    return Encode(start, end, out, gops.keyframe(before) if before is not None else None)


def _whole(gops: Gops, span: Span, quarter: float, workdir: Path, plan: Plan) -> None:
    start, end = span
    plan.pieces.append((_encode(gops, start, end, workdir.with_name(f"{workdir.name}-whole"), quarter), start))
    plan.spans.append(span)


def _first_copied(gops: Gops, span: Span, quarter: float, plan: Plan) -> int | None:
    """The keyframe a span's copy starts at: the first in the span, unless that is an open GOP's keyframe
    (H.264, non-IDR) at the span's very start right after copied frames — nothing re-encoded in between
    could end on the IDR its picture order needs (`cut.Reset`) — then the next one, after a head."""
    start, end = span
    first = gops.first_at_or_after(start - quarter)
    while first is not None and gops.at(first) < end - quarter:
        after_copy = bool(plan.pieces) and isinstance(plan.pieces[-1][0], _Copy)
        if gops.reset_before(first) is None or gops.at(first) > start + quarter or not after_copy:
            return first
        first = first + 1 if first + 1 < gops.count else None
    return None


def _plan_span(gops: Gops, span: Span, quarter: float, slack: float, name: str, plan: Plan) -> None:
    start, end = span
    workdir = Path(name)
    first = _first_copied(gops, span, quarter, plan)
    if first is None:
        _whole(gops, span, quarter, workdir, plan)
        return
    keyframe = gops.at(first)
    last = gops.last_at_or_before(end - quarter)
    assert last is not None and last >= first
    clean = gops.clean_end(last, end, quarter)
    if clean <= keyframe + quarter:  # nothing between the keyframe and the end can be copied
        _whole(gops, span, quarter, workdir, plan)
        return
    reset = gops.reset_before(first)
    if reset is not None and plan.pieces and keyframe <= start + quarter:
        before, at = plan.pieces[-1]  # an Encode (`_first_copied`): the previous span's tail or whole
        assert isinstance(before, Encode)
        plan.pieces[-1] = (replace(before, reset=reset), at)
    pieces: list[Encode | _Copy] = []
    if keyframe > start + quarter:
        head = _encode(gops, start, keyframe, workdir.with_name(f"{workdir.name}-head"), quarter)
        pieces.append(replace(head, reset=reset))
    if clean >= end - quarter:
        pieces.append(_Copy(gops.keyframe(first).dts, keyframe, end))
    elif end - clean <= slack:
        pieces.append(_Copy(gops.keyframe(first).dts, keyframe, clean))
        end = clean
        plan.ends_moved += 1
    else:
        pieces.append(_Copy(gops.keyframe(first).dts, keyframe, clean))
        pieces.append(_encode(gops, clean, end, workdir.with_name(f"{workdir.name}-tail"), quarter))
    plan.pieces += [(piece, start) for piece in pieces]
    plan.spans.append((start, end))


def plan(
    src: Path, info: MediaInfo, spans: list[Span], workdir: Path, slack: float, layout: bitstream.Layout
) -> Plan:
    """Decide every span's pieces from the keyframe index and the packets around each cut."""
    quarter = 0.25 / (info.fps or 25)
    result = Plan()
    with Gops(src, layout, info.video_codec or "h264") as gops:
        for index, span in enumerate(spans):
            _plan_span(gops, span, quarter, slack, str(workdir / f"{index:05d}"), result)
    return result


def _placed(gops: Gops, plan: Plan, encoded: dict[Path, remux.Encoded], quarter: float) -> list[remux.Placed]:
    """Pieces on the output's timeline. A copy ends a quarter frame before its end, as heads and tails do
    (`_Frames.between`): off the frame grid (VFR), a frame that close to a cut belongs after it."""
    placed: list[remux.Placed] = []
    out_start = 0.0
    by_start: dict[float, float] = {}
    for (start, end) in plan.spans:
        by_start[start] = out_start
        out_start += end - start
    for piece, span_start in plan.pieces:
        offset = round(by_start[span_start] / gops.base) - gops.units(span_start)
        if isinstance(piece, Encode):
            placed.append(remux.Placed(encoded[piece.out], offset))
        else:
            copied = remux.Copied(piece.keyframe_dts, gops.units(piece.start), gops.units(piece.end - quarter))
            placed.append(remux.Placed(copied, offset))
    return placed


def _layout(src: Path, info: MediaInfo) -> tuple[bitstream.Layout, int]:
    """The source's NAL layout and how many frames its decoder holds back (the remux's timestamp delay)."""
    with open_media(src) as container:
        decoder = container.streams.video[0].codec_context
        return bitstream.layout(info.video_codec or "", decoder.extradata), max(decoder.reorder_depth, 1) + 1


class EarlyHead:
    """The first span's head, encoded while the caller is still looking for where the span ends.

    head_tail knows where its one span starts as soon as the first speech is found, long before the tail
    search and the middle's samples are done: the frames from that cut to the next keyframe (decoding up
    to a GOP of 8 s at OBS's keyint 250) are the costliest part of a short file's trim, so they are
    encoded on the other core meanwhile. The head is planned against a span running to the end of the
    file; `smart_cut` uses it only when its own plan makes exactly the same job, and otherwise waits for
    it and throws it away (nothing is written outside `workdir`)."""

    def __init__(self, src: Path, info: MediaInfo, start: float, workdir: Path) -> None:
        self.job: Encode | None = None
        self.sink: cut.HeadSink | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leap-early-head")
        self._future: Future[None] | None = None
        try:
            layout, _ = _layout(src, info)
            made = plan(src, info, [(start, info.duration_s)], workdir, cut.END_SLACK_S, layout)
        except MediaError:
            return  # smart_cut meets the same error and says why
        first = made.pieces[0][0] if made.pieces else None
        if isinstance(first, Encode) and len(made.pieces) > 1 and first.start == start:
            self.job, self.sink = first, cut.HeadSink(info.video_codec or "", layout)
            self._future = self._pool.submit(cut.encode_all, src, info, [first], self.sink, None)

    def take(self, job: Encode) -> cut.HeadSink | None:
        """The sink holding `job` encoded, if this is the job that was encoded early; waits for it."""
        if self._future is None:
            return None
        try:
            self._future.result()
        except MediaError:
            return None  # encoded again by smart_cut, which reports the failure itself
        finally:
            self._pool.shutdown()
        return self.sink if job == self.job else None

    def close(self) -> None:
        """Wait for the encode (its file lives in the caller's workdir, which is removed after this)."""
        if self._future is not None:
            self._future.exception()
        self._pool.shutdown()


def smart_cut(
    src: Path, info: MediaInfo, spans: list[Span], out: Path, workdir: Path, progress: Progress | None,
    audio_out: cut.AudioOut, slack: float = cut.END_SLACK_S, early: EarlyHead | None = None,
) -> SmartCut:
    """Write `spans` of a video to `out` (MP4), copying all but the frames around each cut; `early` may
    hold the first head already encoded.

    Raises MediaError when the source cannot be smart-cut (no keyframe index, Annex B storage, frames
    reordered too deeply, an open GOP whose picture order a head cannot reset); the caller then
    re-encodes and says why."""
    codec = info.video_codec or ""
    layout, delay = _layout(src, info)
    made = plan(src, info, spans, workdir, slack, layout)
    jobs = made.jobs
    sink = early.take(jobs[0]) if early is not None and jobs else None
    if sink is not None:
        jobs = jobs[1:]
    else:
        sink = cut.HeadSink(codec, layout)
    with ThreadPoolExecutor(max_workers=1) as pool:
        audio = pool.submit(audio_out, made.spans, workdir / "audio.m4a")
        cut.encode_all(src, info, jobs, sink, progress)
        audio_path = audio.result()
    with Gops(src) as gops:
        placed = _placed(gops, made, sink.encoded, 0.25 / (info.fps or 25))
    remux.write(src, placed, audio_path, out, layout, delay, sum(e - s for s, e in made.spans))
    return SmartCut(made.spans, len(made.jobs), made.ends_moved)
