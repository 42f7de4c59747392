"""Keeping the search index in step with the transcripts: written when subtitles materialise, gone on delete.

A recording's rows are replaced as a whole, so a re-materialisation (a reprocess of `subtitles`, or a
retry after a new transcription) re-indexes it. Archiving keeps the rows: an archived recording keeps
its transcript in the database and its published videos, so it stays findable (README "Search").
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, text
from sqlalchemy.orm import Session

from leap_core.db.models import Recording, TranscriptCue
from leap_core.search.terms import dictionary_for, terms
from leap_core.speech.subtitles import Cue, build_cues
from leap_core.speech.topic_models import Chapter, Topics
from leap_core.speech.transcript import Transcript
from leap_core.storage import RecordingFiles

_PG_INSERT = text(
    "INSERT INTO transcript_cues (recording_id, user_id, position, start_s, end_s, text, chapter, dictionary, "
    "terms, search_vector) VALUES (:recording_id, :user_id, :position, :start_s, :end_s, :text, :chapter, "
    ":dictionary, :terms, to_tsvector(CAST(CAST(:dictionary AS varchar) AS regconfig), :text))"
)


def chapter_at(chapters: Sequence[Chapter], starts: Sequence[float], second: float) -> str | None:
    """The title of the chapter a moment falls in (the last one starting at or before it)."""
    i = bisect_right(starts, second + 1e-6) - 1
    return chapters[i].title if i >= 0 else None


def cue_rows(recording: Recording, transcript: Transcript, topics: Topics | None,
             cues: Sequence[Cue] | None = None) -> list[dict[str, Any]]:
    """The rows one recording's transcript indexes as: one per subtitle cue, with its chapter."""
    dictionary = dictionary_for(transcript.language)
    chapters = sorted(topics.chapters, key=lambda c: c.start) if topics else []
    starts = [c.start for c in chapters]
    return [
        {"recording_id": recording.id, "user_id": recording.user_id, "position": i, "start_s": round(c.start, 3),
         "end_s": round(c.end, 3), "text": c.text, "chapter": chapter_at(chapters, starts, c.start),
         "dictionary": dictionary, "terms": " ".join(terms(c.text, dictionary))}
        for i, c in enumerate(cues if cues is not None else build_cues(transcript))
    ]


def write_rows(session: Session, recording_id: str, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the recording's rows; PostgreSQL computes each row's tsvector in the same INSERT."""
    session.execute(delete(TranscriptCue).where(TranscriptCue.recording_id == recording_id))
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PG_INSERT, list(rows))
    else:  # SQLite: the migration's triggers copy each row into the FTS5 index
        session.execute(insert(TranscriptCue), list(rows))


def index_recording(session: Session, recording: Recording, files: RecordingFiles) -> int:
    """Index the recording from its transcript and topics files; returns the number of cues indexed."""
    transcript = Transcript.model_validate_json(files.transcript.read_text(encoding="utf-8"))
    topics = Topics.model_validate_json(files.topics.read_text(encoding="utf-8")) if files.topics.exists() else None
    rows = cue_rows(recording, transcript, topics)
    write_rows(session, recording.id, rows)
    return len(rows)


def remove(session: Session, recording_ids: Sequence[str]) -> None:
    """Drop the recordings' cues (on delete): a deleted recording is never found again."""
    if recording_ids:
        session.execute(delete(TranscriptCue).where(TranscriptCue.recording_id.in_(list(recording_ids))))
