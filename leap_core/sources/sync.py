"""Source sync: new files become recordings, pending ones are re-checked, in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core import audit, recordings, templates
from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.db.models import Recording, Source, Template, User
from leap_core.db.types import utcnow
from leap_core.errors import LeapError, ValidationError
from leap_core.sources.base import SourceClient, SourceFile
from leap_core.sources.local import LocalFolderSource
from leap_core.states import RecordingStatus


@dataclass
class SyncSummary:
    source_id: str
    listed: int = 0
    registered: list[str] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def new_partition_keys(self) -> list[str]:
        return self.registered


def client_for(source: Source) -> SourceClient:
    if source.kind == "local":
        return LocalFolderSource(Path(source.config["path"]))
    raise ValidationError(f"source kind {source.kind!r} is not supported yet")


def _pending_update(
    session: Session,
    actor: Actor,
    recording: Recording,
    file: SourceFile | None,
    template: Template | None,
    settings: Settings,
    stable_required: bool,
) -> str | None:
    """Decide a PENDING_SOURCE recording's fate; returns 'promoted', 'skipped' or None (still waiting)."""
    if file is None:
        reason = "source_deleted"
    elif utcnow() - recording.created_at > timedelta(hours=settings.pending_source_timeout_hours):
        reason = "source_timeout"
    else:
        stable = not stable_required or file.size == recording.source_size
        if file.complete and stable:
            recordings.promote_pending(session, actor, recording, template)
            return "promoted"
        recording.source_size = file.size
        return None
    recordings.transition(session, recording, RecordingStatus.SKIPPED)
    recording.skip_reason = reason
    audit.record(
        session,
        actor,
        "recording.skip",
        "recording",
        recording.id,
        user_id=recording.user_id,
        details={"reason": reason},
    )
    return "skipped"


def sync_source(session: Session, actor: Actor, source: Source, settings: Settings) -> SyncSummary:
    """List the source once, register what is new and settle what was pending; partition keys returned."""
    summary = SyncSummary(source.id)
    client = client_for(source)
    try:
        files = {f.file_id: f for f in client.list_files()}
    except LeapError as exc:
        source.last_error = summary.error = str(exc)
        audit.record(
            session,
            actor,
            "source.sync",
            "source",
            source.id,
            user_id=source.user_id,
            details={"error": str(exc)},
            result="failure",
        )
        return summary
    summary.listed = len(files)
    stable_required = bool(getattr(client, "needs_stable_size", False))
    known = {
        r.source_file_id: r
        for r in session.scalars(select(Recording).where(Recording.source_id == source.id))
    }
    user = session.get(User, source.user_id)
    assert user is not None
    user_templates = list(session.scalars(select(Template).where(Template.user_id == source.user_id)))
    by_id = {t.id: t for t in user_templates}
    for recording in known.values():
        if recording.status is RecordingStatus.PENDING_SOURCE:
            template = by_id.get(recording.template_id) if recording.template_id else None
            outcome = _pending_update(
                session,
                actor,
                recording,
                files.get(recording.source_file_id),
                template,
                settings,
                stable_required,
            )
            if outcome == "promoted":
                summary.promoted.append(recording.partition_key)
            elif outcome == "skipped":
                summary.skipped.append(recording.partition_key)
    for file_id, file in files.items():
        if file_id in known:
            continue
        incoming = file if not stable_required else SourceFile(**{**file.__dict__, "complete": False})
        template = templates.choose(user_templates, source, file)
        recording = recordings.register(session, actor, user, source, template, incoming)
        summary.registered.append(recording.partition_key)
    source.last_synced_at = utcnow()
    source.last_error = None
    return summary
