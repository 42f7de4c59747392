"""Topics from an OpenAI chat model, parsed into a Pydantic schema (structured output).

A two-hour lecture is ~20k words, which fits a large context but costs attention and money on every
call; past `max_chars` the transcript is summarised in windows (each returning its part's summary and
chapters, with absolute times) and the part summaries are then combined into one summary and keyword
list. Chapters come from the windows and are checked against YouTube's rules like any others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import openai
from pydantic import BaseModel

from leap_core.errors import StageError
from leap_core.speech.chapters import validate_chapters
from leap_core.speech.openai_client import make_client, stage_error
from leap_core.speech.slide_chapters import snap
from leap_core.speech.topic_models import Chapter, Topics
from leap_core.speech.transcript import Segment, Transcript, format_clock

MAX_CHARS = 48_000
"""~12k tokens of transcript per request: well inside small models' context, with room for the answer."""

_INSTRUCTIONS = (
    "You turn lecture transcripts into study aids. Lines start with [m:ss] timestamps. Write the summary in "
    "the transcript's language, 2-4 sentences. Keywords: 5-10 key terms. Chapters: where the lecture moves "
    "to a new topic, each with the start time in seconds taken from a line's timestamp and a short title "
    "(2-6 words); the first chapter starts at the first line."
)
_COMBINE = (
    "These are summaries of consecutive parts of one lecture. Write one summary of the whole lecture "
    "(2-4 sentences) and 5-10 keywords for it."
)


class ChapterDraft(BaseModel):
    start_seconds: float
    title: str


class PartTopics(BaseModel):
    summary: str
    keywords: list[str]
    chapters: list[ChapterDraft]


class Overview(BaseModel):
    summary: str
    keywords: list[str]


Parsed = TypeVar("Parsed", bound=BaseModel)


def _lines(segments: list[Segment]) -> str:
    return "\n".join(f"[{format_clock(s.start)}] {s.text.strip()}" for s in segments)


def windows(segments: list[Segment], max_chars: int) -> list[list[Segment]]:
    """Runs of whole segments, each at most `max_chars` long (a longer segment stands alone)."""
    parts: list[list[Segment]] = [[]]
    size = 0
    for segment in segments:
        length = len(segment.text) + 10
        if parts[-1] and size + length > max_chars:
            parts.append([])
            size = 0
        parts[-1].append(segment)
        size += length
    return [p for p in parts if p]


class OpenAITopicExtractor:
    def __init__(self, api_key: str | None = None, base_url: str | None = None, model: str = "gpt-4o-mini",
                 timeout: float = 120.0, max_retries: int = 4, max_chars: int = MAX_CHARS) -> None:
        self._api_key = api_key
        self.base_url = base_url
        self.model = model
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_chars = max_chars

    def __repr__(self) -> str:
        return f"OpenAITopicExtractor(model={self.model!r}, base_url={self.base_url!r})"

    def extract(self, transcript: Transcript, slides: Sequence[float] = ()) -> Topics:
        if not transcript.segments:
            return Topics(summary="", chapters_note="omitted: the transcript is empty")
        client = make_client(self._api_key, self.base_url, self.timeout, self.max_retries, "topics")
        parts = windows(transcript.segments, self.max_chars)
        drafts = [self._ask(client, _INSTRUCTIONS, _lines(p), PartTopics, f"part {i + 1} of {len(parts)}")
                  for i, p in enumerate(parts)]
        if len(drafts) == 1:
            overview = Overview(summary=drafts[0].summary, keywords=drafts[0].keywords)
        else:
            joined = "\n\n".join(f"Part {i + 1}: {d.summary}" for i, d in enumerate(drafts))
            overview = self._ask(client, _COMBINE, joined, Overview, "the combined summary")
        found = [Chapter(start=c.start_seconds, title=c.title) for d in drafts for c in d.chapters]
        if slides:  # titles stay the model's; only the starts move onto the slide changes
            moved = snap([c.start for c in found], slides)
            ordered = sorted(found, key=lambda c: c.start)
            found = [Chapter(start=s, title=c.title) for s, c in zip(moved, ordered, strict=True)]
        chapters, note = validate_chapters(found, transcript.duration)
        keywords = [k.strip() for k in overview.keywords if k.strip()]
        return Topics(summary=overview.summary.strip(), keywords=keywords, chapters=chapters,
                      chapters_note=note)

    def _ask(self, client: openai.OpenAI, instructions: str, content: str, schema: type[Parsed],
             what: str) -> Parsed:
        try:
            completion = client.chat.completions.parse(
                model=self.model, response_format=schema,
                messages=[{"role": "system", "content": instructions}, {"role": "user", "content": content}],
            )
        except openai.LengthFinishReasonError:
            raise StageError("topics", f"the model ran out of output tokens on {what}") from None
        except openai.OpenAIError as exc:
            raise stage_error("topics", exc, what, self._api_key) from None
        parsed = completion.choices[0].message.parsed
        if parsed is None:
            raise StageError("topics", f"the model refused or returned no structured answer for {what}")
        return parsed
