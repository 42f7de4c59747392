"""What the `topics` stage stores (`topics.json`): a summary, keywords and YouTube-ready chapters."""

from __future__ import annotations

from pydantic import BaseModel, Field

from leap_core.speech.transcript import format_clock


class Chapter(BaseModel):
    start: float
    title: str


class Topics(BaseModel):
    summary: str
    keywords: list[str] = Field(default_factory=list)
    chapters: list[Chapter] = Field(default_factory=list)
    chapters_note: str | None = None
    """Why the chapters were adjusted or left out (YouTube's rules); None when they were fine as found."""

    def chapters_text(self) -> str:
        """The lines YouTube turns into chapters when they appear in a video description."""
        return "\n".join(f"{format_clock(c.start)} {c.title}" for c in self.chapters)

    def chapters_markdown(self) -> str:
        if not self.chapters:
            return f"_(no chapters: {self.chapters_note or 'none found'})_"
        return "\n".join(f"- `{format_clock(c.start)}` {c.title}" for c in self.chapters)
