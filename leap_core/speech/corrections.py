"""A lecturer's corrected transcript (`leap recordings edit`): SRT, WebVTT or JSON read into segments.

Each format is read strictly enough that a wrong file is refused with the line that is wrong, not half
taken: a corrected transcript replaces what students read, so nothing is guessed.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import srt

from leap_core.errors import ValidationError
from leap_core.speech.transcript import Segment

MAX_BYTES = 4 << 20
"""Hours of subtitles are well under a megabyte; more is not a transcript."""
MAX_CUE_CHARS = 2000
END_TOLERANCE_S = 1.0
"""A cue may end this much after the media (players and editors round the last cue up)."""
FORMATS = ("srt", "vtt", "json")

_VTT_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})$")
_TAGS = re.compile(r"<[^>]{1,64}>")


def format_of(name: str, text: str) -> str:
    """The format by the file's extension, else by its first line."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in FORMATS:
        return suffix
    head = text.lstrip("\ufeff").lstrip()
    if head.startswith("WEBVTT"):
        return "vtt"
    if head.startswith(("{", "[")):
        return "json"
    return "srt"


def _vtt_seconds(stamp: str, line_no: int) -> float:
    match = _VTT_TIME.match(stamp.strip())
    if match is None:
        raise ValidationError(f"line {line_no}: {stamp.strip()!r} is not a WebVTT time (HH:MM:SS.mmm)")
    hours, minutes, seconds, millis = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _vtt(text: str) -> list[tuple[float, float, str]]:
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or not lines[0].startswith("WEBVTT"):
        raise ValidationError("line 1: a WebVTT file starts with 'WEBVTT'")
    cues: list[tuple[float, float, str]] = []
    at = 1
    while at < len(lines):
        line = lines[at]
        if "-->" not in line:
            at += 1
            continue
        start, _, rest = line.partition("-->")
        end = rest.strip().split()[0] if rest.strip() else ""
        begin, finish = _vtt_seconds(start, at + 1), _vtt_seconds(end, at + 1)
        body: list[str] = []
        at += 1
        while at < len(lines) and lines[at].strip():
            body.append(lines[at].strip())
            at += 1
        cues.append((begin, finish, " ".join(body)))
    return cues


def _srt(text: str) -> list[tuple[float, float, str]]:
    try:
        items = list(srt.parse(text.lstrip("\ufeff"), ignore_errors=False))
    except srt.SRTParseError as exc:
        raise ValidationError(f"not a valid SRT file: {' '.join(str(exc).split())[:200]}") from None

    def seconds(delta: timedelta) -> float:
        return delta.total_seconds()

    return [(seconds(item.start), seconds(item.end), " ".join(item.content.split())) for item in items]


def _json(text: str) -> list[tuple[float, float, str]]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    segments = data.get("segments") if isinstance(data, dict) else data
    if not isinstance(segments, list):
        raise ValidationError("JSON must be a transcript ({\"segments\": [...]}) or a list of segments")
    cues = []
    for index, item in enumerate(segments, 1):
        if not isinstance(item, dict) or not {"start", "end", "text"} <= item.keys():
            raise ValidationError(f"segment {index}: needs start, end and text")
        try:
            cues.append((float(item["start"]), float(item["end"]), str(item["text"])))
        except (TypeError, ValueError):
            raise ValidationError(f"segment {index}: start and end must be numbers of seconds") from None
    return cues


READERS = {"srt": _srt, "vtt": _vtt, "json": _json}


def read_corrections(data: bytes, name: str, duration: float) -> list[Segment]:
    """The file's cues as transcript segments, checked against the media: in order, inside it, not empty."""
    if len(data) > MAX_BYTES:
        raise ValidationError(f"{name} is larger than {MAX_BYTES >> 20} MiB; a transcript is far smaller")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{name} is not UTF-8 text") from None
    kind = format_of(name, text)
    segments: list[Segment] = []
    for index, (start, end, raw) in enumerate(READERS[kind](text), 1):
        words = " ".join(_TAGS.sub("", raw).split())
        if not words:
            continue
        if start < 0 or end <= start:
            raise ValidationError(f"cue {index}: {start:.3f} → {end:.3f} s is not a forward time span")
        if end > duration + END_TOLERANCE_S:
            raise ValidationError(f"cue {index}: ends at {end:.1f} s, after the {duration:.1f} s recording")
        if segments and start < segments[-1].start:
            raise ValidationError(f"cue {index}: starts at {start:.3f} s, before the cue above it")
        if len(words) > MAX_CUE_CHARS:
            raise ValidationError(f"cue {index}: {len(words)} characters; a cue holds at most {MAX_CUE_CHARS}")
        segments.append(Segment(start=start, end=min(end, duration), text=words))
    if not segments:
        raise ValidationError(f"{name} holds no cue with text")
    return segments
