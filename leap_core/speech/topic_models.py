"""What the `topics` stage stores (`topics.json`): a summary, keywords and YouTube-ready chapters."""

from __future__ import annotations

from pydantic import BaseModel, Field

from leap_core.speech.transcript import format_clock


class Chapter(BaseModel):
    start: float
    title: str


class Slide(BaseModel):
    """A chapter's slide: the picture on screen when it starts, kept beside topics.json."""

    start: float
    image: str
    """File name under the recording's `slides/` folder."""


class Topics(BaseModel):
    summary: str
    keywords: list[str] = Field(default_factory=list)
    chapters: list[Chapter] = Field(default_factory=list)
    chapters_note: str | None = None
    """Why the chapters were adjusted or left out (YouTube's rules); None when they were fine as found."""
    slide_changes: list[float] = Field(default_factory=list)
    """Where the screen share changed slides (leap_core.media.slides); empty for audio or no video."""
    slides: list[Slide] = Field(default_factory=list)
    thumbnail: str | None = None
    """The title slide (the picture at 0:00 + 1 s), offered to YouTube as the custom thumbnail."""

    def chapters_text(self) -> str:
        """The lines YouTube turns into chapters when they appear in a video description."""
        return "\n".join(f"{format_clock(c.start)} {c.title}" for c in self.chapters)

    def chapters_markdown(self) -> str:
        if not self.chapters:
            return f"_(no chapters: {self.chapters_note or 'none found'})_"
        return "\n".join(f"- `{format_clock(c.start)}` {c.title}" for c in self.chapters)
