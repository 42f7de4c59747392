"""The review hold: a transcript the template does not trust waits in TRANSCRIBED until its owner says so.

A lecturer publishes to students; a phrase the decoder was unsure of, or a stretch the integrity gate had
to re-transcribe, is where a wrong word reaches them. Per template (off by default) such a recording is
held before publishing with its reason; `approve` publishes it, `edit` replaces the transcript with the
owner's corrected file and rebuilds chapters and subtitles from it (ADR 0042).

The hold is a column beside the state, not a new state: the specification's state table stays as it is,
every reader of TRANSCRIBED keeps working, and a held recording is simply one the publish step declines.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from leap_core import audit
from leap_core.audit import Actor
from leap_core.db.models import Recording
from leap_core.db.types import utcnow
from leap_core.disk import write_text_atomic
from leap_core.errors import InvalidTransitionError, ValidationError
from leap_core.notifications import notify
from leap_core.notifications.events import Event
from leap_core.notifications.kinds import EventType
from leap_core.operations import OperationReport, busy_recordings, request_runs, sort_eligible
from leap_core.speech.transcript import Segment, Transcript
from leap_core.stage_history import blame_stage
from leap_core.stages import TOPICS
from leap_core.states import IN_FLIGHT, RecordingStatus
from leap_core.storage import RecordingFiles

R = RecordingStatus
EDITABLE_STATES = (R.TRANSCRIBED, R.UPLOADED)
"""Resting with a transcript: a held recording is corrected before publishing, a published one after (its
published captions and chapters are then refreshed by the run the edit requests)."""


class ReviewPolicy(BaseModel):
    """`templates.review`: when a recording waits for its owner before publishing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["off", "flagged", "always"] = Field(
        default="off", description="flagged: hold when cues are unsure or the gate repaired; always: hold every one.")
    min_confidence: float = Field(default=0.5, ge=0, le=1, description="A cue below this confidence is unsure.")
    max_low_cues: int = Field(default=0, ge=0, description="Unsure cues allowed before the recording is held.")
    on_repair: bool = Field(default=True, description="flagged: hold when the integrity gate re-transcribed speech.")


def validate_review(value: dict[str, Any]) -> dict[str, Any]:
    """The stored form of a template's review settings; a bad one is refused with one line."""
    try:
        return ReviewPolicy.model_validate(value).model_dump()
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "review"
        raise ValidationError(f"review setting {where}: {first['msg']}") from None


@dataclass(frozen=True)
class Flagged:
    """A cue the owner should read: where, what the decoder wrote, and why it is listed."""

    start: float
    end: float
    text: str
    confidence: float | None
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 2), "end": round(self.end, 2), "text": self.text,
                "confidence": self.confidence, "why": self.why}


def _repaired(segment: Segment, transcript: Transcript) -> bool:
    return any(start < segment.end and segment.start < end for start, end in transcript.repaired)


def flagged_cues(transcript: Transcript, policy: ReviewPolicy) -> list[Flagged]:
    """Unsure cues and cues inside re-transcribed speech, in time order."""
    flagged = []
    for segment in transcript.segments:
        reasons = []
        if segment.confidence is not None and segment.confidence < policy.min_confidence:
            reasons.append(f"confidence {segment.confidence:.2f} < {policy.min_confidence:g}")
        if _repaired(segment, transcript):
            reasons.append("re-transcribed by the integrity gate")
        if reasons:
            flagged.append(Flagged(segment.start, segment.end, segment.text, segment.confidence, "; ".join(reasons)))
    return flagged


def hold_reason(transcript: Transcript, policy: ReviewPolicy) -> str | None:
    """Why this transcript waits for review under the policy, or None to publish it."""
    if policy.mode == "off" or transcript.edited:
        return None
    if policy.mode == "always":
        return "the template holds every recording for review"
    unsure = [s for s in transcript.segments if s.confidence is not None and s.confidence < policy.min_confidence]
    reasons = []
    if len(unsure) > policy.max_low_cues:
        reasons.append(f"{len(unsure)} cue(s) below confidence {policy.min_confidence:g} "
                       f"(the template allows {policy.max_low_cues})")
    if policy.on_repair and transcript.repaired:
        reasons.append(f"the integrity gate re-transcribed {len(transcript.repaired)} span(s) of speech")
    return "; ".join(reasons) or None


def review_waiting(recording_id: str, title: str, reason: str) -> Event:
    return Event(EventType.RECORDING_REVIEW, f"{EventType.RECORDING_REVIEW}:{recording_id}",
                 f"Waiting for your review: {title}",
                 f"LEAP holds this recording before publishing: {reason}. "
                 f"`leap recordings review {recording_id}` lists the cues to check; `approve` publishes it.",
                 {"recording_id": recording_id, "reason": reason})


def hold(session: Session, recording: Recording, reason: str, actor: Actor) -> None:
    """Mark the recording held (in the stage's exit transaction), audited, its owner told."""
    recording.review_reason = reason
    recording.review_held_at = utcnow()
    audit.record(session, actor, "recording.hold", "recording", recording.id, user_id=recording.user_id,
                 details={"reason": reason})
    notify(session, recording.user_id, review_waiting(recording.id, recording.title, reason))


def _not_approvable(row: Recording) -> str | None:
    if row.review_reason is None:
        return f"not held for review (recording is {row.status.value})"
    if row.status is not R.TRANSCRIBED:
        return f"recording is {row.status.value}; approving needs it TRANSCRIBED"
    return None


def approve(session: Session, actor: Actor, rows: Sequence[Recording], dry_run: bool = False) -> OperationReport:
    """Held recordings are released and get a run from their first unpublished target."""
    report = OperationReport("recording.approve", dry_run)
    eligible = sort_eligible(session, report, rows, _not_approvable,
                             "a run is queued or in flight for it; approve once it has finished")
    if dry_run:
        return report
    for row in eligible:
        reason, row.review_reason, row.review_held_at = row.review_reason, None, None
        request_runs(session, [row], blame_stage(session, row), "approve", actor)
        audit.record(session, actor, "recording.approve", "recording", row.id, user_id=row.user_id,
                     details={"held_for": reason})
    return report


def ensure_editable(session: Session, recording: Recording) -> None:
    if recording.archived_at is not None:
        raise InvalidTransitionError(f"recording {recording.id} is archived; restore it before editing")
    if recording.status not in EDITABLE_STATES or recording.status in IN_FLIGHT:
        raise InvalidTransitionError(f"recording {recording.id} is {recording.status.value}; a transcript can be "
                                     "edited once it is TRANSCRIBED (or UPLOADED)")
    if busy_recordings(session, [recording.id]):
        raise InvalidTransitionError(f"recording {recording.id} has a run queued or in flight; edit it afterwards")


def edit(session: Session, actor: Actor, recording: Recording, files: RecordingFiles,
         segments: list[Segment], file_name: str) -> dict[str, Any]:
    """Replace the transcript with the owner's segments and request topics and subtitles rebuilt from it.

    The decoder's transcript is kept once as `transcript.machine.json`, so the edit loses nothing. A held
    recording stays held (the owner approves the result); a published one has its captions and chapters
    refreshed by the same run.
    """
    ensure_editable(session, recording)
    current = Transcript.model_validate_json(files.transcript.read_text(encoding="utf-8"))
    machine = files.root / "transcript.machine.json"
    if not machine.exists() and not current.edited:
        shutil.copyfile(files.transcript, machine)
    edited = current.model_copy(update={"segments": segments, "edited": True, "repaired": []})
    write_text_atomic(files.transcript, edited.model_dump_json(indent=2))
    request_runs(session, [recording], TOPICS.name, "edit", actor)
    details = {"file": file_name, "segments": len(segments), "before_segments": len(current.segments),
               "held": recording.review_reason is not None}
    audit.record(session, actor, "recording.edit", "recording", recording.id, user_id=recording.user_id,
                 details=details)
    return {"recording_id": recording.id, **details, "rebuild": "topics, subtitles"}


def review_view(recording: Recording, transcript: Transcript | None, policy: ReviewPolicy) -> dict[str, Any]:
    """What `leap recordings review` prints: the hold and the cues to read."""
    cues = [f.as_dict() for f in flagged_cues(transcript, policy)] if transcript is not None else []
    return {"recording_id": recording.id, "status": recording.status.value,
            "held": recording.review_reason is not None, "reason": recording.review_reason,
            "held_at": recording.review_held_at, "edited": bool(transcript and transcript.edited),
            "cues": cues}
