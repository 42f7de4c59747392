"""The transcript every speech stage shares: `transcript.json` on disk, one model in memory.

Times are seconds from the start of the (trimmed) recording. Word timings are optional because not
every backend gives them; subtitles use them when present and fall back to the segment's span.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Word(BaseModel):
    start: float
    end: float
    text: str
    probability: float | None = None
    """The decoder's probability of the word, 0 to 1, where the backend gives one (the local backend does):
    the glossary's hotword guard reads it (ADR 0039)."""


class Segment(BaseModel):
    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)
    confidence: float | None = None
    """The decoder's probability of the segment's text, 0 to 1 (exp of Whisper's average log-probability);
    None where the backend does not say or a person wrote the text. The review hold reads it (ADR 0042)."""


class Transcript(BaseModel):
    language: str
    language_probability: float | None = None
    """Set when the language was detected (`auto`): the vote's share of probability, 0 to 1."""
    duration: float
    backend: str
    model: str
    segments: list[Segment] = Field(default_factory=list)
    repaired: list[tuple[float, float]] = Field(default_factory=list)
    """Speech spans the integrity gate found uncovered and re-transcribed on their own (ADR 0038)."""
    edited: bool = False
    """The segments are its owner's corrected file (`leap recordings edit`), not the decoder's."""

    @property
    def text(self) -> str:
        return " ".join(segment.text.strip() for segment in self.segments if segment.text.strip())

    @property
    def word_count(self) -> int:
        return len(self.text.split())

    def preview_markdown(self, max_lines: int = 10) -> str:
        """The first lines with timestamps: enough to recognise the lecture, never all of it."""
        lines = [f"- `{format_clock(s.start)}` {s.text.strip()}" for s in self.segments[:max_lines]]
        if len(self.segments) > max_lines:
            lines.append(f"- … {len(self.segments) - max_lines} more segments")
        return "\n".join(lines) or "_(no speech)_"


def format_clock(seconds: float) -> str:
    """`M:SS` or `H:MM:SS`, the way YouTube writes chapter times."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
