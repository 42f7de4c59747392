"""Source sync: new files become recordings, pending ones are re-checked, in a constant number of queries.

A sync costs the same handful of statements whether the source already has ten recordings or ten
thousand: it asks the database only about the file ids the listing returned (one IN query) plus the
source's PENDING_SOURCE rows; registering is the only per-file work, and it is done for new files only.

Intake (ADR 0025): a file from a source without its own completeness signal (a local folder) waits as
PENDING_SOURCE until its fingerprint (size and mtime) has held for LEAP_INTAKE_STABLE_SECONDS, measured
from the sync that first saw it; a file already taken whose fingerprint changes (same file id, new
content) becomes a new recording — the next `source_revision` — with a `recording.source_changed` audit
record on the one it replaces.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import String, Table, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from leap_core import accounting, audit, paths, recordings, templates
from leap_core.audit import Actor
from leap_core.config import Settings, get_settings
from leap_core.credentials import reveal
from leap_core.db.models import Credential, Recording, Source, Template, User
from leap_core.db.session import Database
from leap_core.db.types import utcnow
from leap_core.errors import LeapError, QuotaExceededError, ValidationError
from leap_core.notifications.events import notify, source_credential_failed
from leap_core.secrets import SecretBox
from leap_core.sources.base import (
    DEFAULT_PREFERRED_TYPES,
    SourceAuthError,
    SourceClient,
    SourceError,
    SourceFile,
    fingerprint,
)
from leap_core.sources.local import LocalFolderSource
from leap_core.states import RecordingStatus

log = logging.getLogger(__name__)

CredentialReader = Callable[[Session, str], Mapping[str, str]]
"""Decrypts one stored credential by id: a parameter so tests and other stores can stand in."""

ZOOM_CREDENTIAL_KEYS = ("account_id", "client_id", "client_secret")
YANDEX_CREDENTIAL_KEYS = ("token",)
MAX_IN_LIST = 30_000
"""Above this many listed files one query for all of the source's file ids is cheaper than a giant IN
(and stays under SQLite's 32,766 bound parameters)."""


@dataclass
class SyncSummary:
    source_id: str
    source_name: str = ""
    listed: int = 0
    registered: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    """Partition keys of the recordings a replaced file became (each also counted in `registered`)."""
    promoted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    over_quota: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source_id": self.source_id, "source": self.source_name, "listed": self.listed,
                "registered": len(self.registered), "changed": len(self.changed),
                "promoted": len(self.promoted), "skipped": len(self.skipped),
                "over_quota": self.over_quota, "error": self.error}


def stored_credentials(settings: Settings) -> CredentialReader:
    """The encrypted credential store, read with LEAP_SECRET_KEY (the key is only needed once one is read)."""

    def read(session: Session, credential_id: str) -> Mapping[str, str]:
        row = session.get(Credential, credential_id)
        if row is None:
            raise SourceAuthError("the source's credential no longer exists; reconnect the source")
        return reveal(row, SecretBox(settings.secret_keys))

    return read


def _required(credentials: Mapping[str, str] | None, keys: Collection[str], kind: str) -> Mapping[str, str]:
    missing = [k for k in keys if not (credentials or {}).get(k)]
    if missing:
        raise SourceAuthError(f"the {kind} source's credential lacks {', '.join(missing)}; reconnect the source")
    assert credentials is not None
    return credentials


def client_for(
    source: Source, credentials: Mapping[str, str] | None = None, settings: Settings | None = None
) -> SourceClient:
    """The client a source's kind, config and (decrypted) credential call for, at the configured endpoints."""
    settings = settings or get_settings()
    config = source.config or {}
    if source.kind == "local":
        return LocalFolderSource(Path(config["path"]))
    # The cloud clients are imported in their branches: httpx is heavy (fast Dagster run-worker start-up).
    if source.kind == "zoom":
        from leap_core.sources.zoom import ZoomSource

        secret = _required(credentials, ZOOM_CREDENTIAL_KEYS, "Zoom")
        return ZoomSource(
            secret["account_id"], secret["client_id"], secret["client_secret"],
            user_id=str(config.get("user_id") or "me"),
            api_url=settings.zoom_api_url, oauth_url=settings.zoom_oauth_url,
            preferred_types=tuple(config.get("preferred_types") or DEFAULT_PREFERRED_TYPES),
            lookback_days=int(config.get("lookback_days") or 30),
        )
    if source.kind == "yandex":
        from leap_core.sources.yandex import YandexDiskSource

        secret = _required(credentials, YANDEX_CREDENTIAL_KEYS, "Yandex Disk")
        return YandexDiskSource(secret["token"], str(config["folder"]), api_url=settings.yandex_disk_api_url)
    raise ValidationError(f"source kind {source.kind!r} is not supported")


def confined_folder(session: Session, settings: Settings, user_id: str, path: Path,
                    folders: paths.FolderIndex | None = None) -> Path:
    """The resolved folder `user_id` may read as a local source now, or a PathEscapeError saying why not.

    Checked when a source is added and again before every listing and download, so a folder (or a
    folder on its path) replaced later by a symlink to somewhere else is never followed. `folders`: the
    local sources indexed once for a whole sync tick (`local_folders`), instead of a query and a
    resolution per other source for each source listed.
    """
    index = folders or local_folders(session, excluding=user_id)
    return paths.confine_local_source(path, settings.allowed_local_source_roots, settings.leap_folders,
                                      index, user_id)


def local_folders(session: Session, excluding: str | None = None) -> paths.FolderIndex:
    """Every local source's folder (but `excluding`'s), resolved now, with its owner."""
    stmt = select(Source.config, Source.user_id).where(Source.kind == "local")
    if excluding is not None:
        stmt = stmt.where(Source.user_id != excluding)
    return paths.FolderIndex((Path(config["path"]), owner) for config, owner in session.execute(stmt)
                             if config and config.get("path"))


def open_client(
    session: Session, source: Source, settings: Settings, credentials: CredentialReader | None = None,
    folders: paths.FolderIndex | None = None,
) -> SourceClient:
    if source.kind == "local":
        stored = Path((source.config or {})["path"])
        try:
            folder = confined_folder(session, settings, source.user_id, stored, folders)
        except paths.PathEscapeError as exc:
            raise SourceError(f"the folder is no longer readable as a local source: {exc}") from None
        if folder != stored:
            raise SourceError(f"the folder {stored} now leads to {folder} (a symlink); re-add the source")
        return LocalFolderSource(folder)
    read = credentials or stored_credentials(settings)
    secret = read(session, source.credential_id) if source.credential_id else None
    return client_for(source, secret, settings)


def _pending_update(
    session: Session,
    actor: Actor,
    recording: Recording,
    file: SourceFile | None,
    template: Template | None,
    settings: Settings,
    stable_required: bool,
    now: datetime,
) -> str | None:
    """Decide a PENDING_SOURCE recording's fate; returns 'promoted', 'skipped' or None (still waiting).

    A changed fingerprint restarts the stability clock; the file is taken once the source calls it
    complete and (where stability is required) it has been seen unchanged on a later sync at least the
    window after the sync that first saw it so (window 0: the next sync, the old "two scans").
    """
    if file is None:
        reason = "source_deleted"
    elif now - recording.created_at > timedelta(hours=settings.pending_source_timeout_hours):
        reason = "source_timeout"
    else:
        current = fingerprint(file)
        if current != recording.source_fingerprint or recording.source_stable_since is None:
            recording.source_fingerprint, recording.source_stable_since = current, now
            recording.source_size, recording.source_extra = file.size, dict(file.extra)
            accounting.settle_storage(session, recording, file.size or 0)  # the reservation follows the file
            if stable_required:
                return None  # it just changed: held still for no time at all, whatever the window
        held = now - recording.source_stable_since
        if file.complete and (not stable_required or held >= timedelta(seconds=settings.intake_stable_seconds)):
            recordings.promote_pending(session, actor, recording, template)
            return "promoted"
        return None
    recordings.transition(session, recording, RecordingStatus.SKIPPED)
    recording.skip_reason = reason
    accounting.settle_storage(session, recording, 0)  # never downloaded: its reservation goes back
    audit.record(session, actor, "recording.skip", "recording", recording.id, user_id=recording.user_id,
                 details={"reason": reason})
    return "skipped"


@dataclass(frozen=True)
class Taken:
    """The newest recording of one source file id: what a listing is compared with."""

    recording_id: str
    revision: int
    fingerprint: str | None
    size: int | None
    status: RecordingStatus


def _known_file_ids(session: Session, source_id: str, listed: Collection[str]) -> dict[str, Taken]:
    """Which listed files already have a recording, and their newest revision: one query, sized by the
    listing, not by the history.

    PostgreSQL gets the ids as one array parameter (`= ANY`): binding ten thousand separate IN
    parameters costs five times as long there.
    """
    stmt = select(Recording.source_file_id, Recording.id, Recording.source_revision, Recording.source_fingerprint,
                  Recording.source_size, Recording.status).where(Recording.source_id == source_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.where(Recording.source_file_id == any_(bindparam("listed", list(listed), type_=ARRAY(String))))
    elif len(listed) <= MAX_IN_LIST:
        stmt = stmt.where(Recording.source_file_id.in_(list(listed)))
    newest: dict[str, Taken] = {}
    for file_id, recording_id, revision, print_, size, status in session.execute(stmt):
        if file_id not in newest or revision > newest[file_id].revision:
            newest[file_id] = Taken(recording_id, revision, print_, size, status)
    return newest


def _replaced(session: Session, files: Mapping[str, SourceFile], known: Mapping[str, Taken]) -> list[SourceFile]:
    """Listed files whose content is no longer what their newest recording took.

    A recording from before fingerprints were kept (None) is compared by size, and adopts the listing's
    fingerprint when that matches, so it is judged by size and mtime from then on.
    """
    replaced, adopted = [], []
    for file_id, taken in known.items():
        file = files.get(file_id)
        if file is None or taken.status is RecordingStatus.PENDING_SOURCE:
            continue  # pending rows follow their file in `_pending_update`
        current = fingerprint(file)
        if taken.fingerprint is None and (file.size is None or taken.size is None or file.size == taken.size):
            adopted.append({"b_id": taken.recording_id, "b_fingerprint": current})
        elif current != taken.fingerprint:
            replaced.append(file)
    if adopted:  # one executemany, not a statement per recording; the version is left alone (no run conflicts)
        table = cast(Table, Recording.__table__)
        session.connection().execute(
            update(table).where(table.c.id == bindparam("b_id"), table.c.source_fingerprint.is_(None))
            .values(source_fingerprint=bindparam("b_fingerprint")), adopted)
    return replaced


def record_failure(session: Session, actor: Actor, source: Source, message: str, auth: bool = False) -> None:
    """The source shows the error until its next good sync; the user's activity log keeps it, and a
    rejected credential (which only the user can fix) is also notified, at most once a day."""
    source.last_error = message
    audit.record(session, actor, "source.sync", "source", source.id, user_id=source.user_id,
                 details={"error": message}, result="failure")
    if auth:
        day = utcnow().date().isoformat()
        notify(session, source.user_id, source_credential_failed(source.id, source.name, message, day))


def sync_source(
    session: Session,
    actor: Actor,
    source: Source,
    settings: Settings,
    credentials: CredentialReader | None = None,
    now: datetime | None = None,
    folders: paths.FolderIndex | None = None,
) -> SyncSummary:
    """List the source once, register what is new or replaced and settle what was pending.

    A bad credential or an unreachable platform is recorded on the source and in the audit log and
    returned in the summary; it never raises, so a caller syncing several sources carries on. `now` is
    the clock the stability window is measured on (a parameter so tests need not wait it out).
    """
    now = now or utcnow()
    summary = SyncSummary(source.id, source.name)
    try:
        client = open_client(session, source, settings, credentials, folders)
        files = {f.file_id: f for f in client.list_files()}
    except (LeapError, OSError) as exc:
        summary.error = str(exc) if isinstance(exc, LeapError) else f"cannot read the source ({type(exc).__name__})"
        record_failure(session, actor, source, summary.error, auth=isinstance(exc, SourceAuthError))
        return summary
    summary.listed = len(files)
    stable_required = bool(getattr(client, "needs_stable_size", False))
    known = _known_file_ids(session, source.id, files.keys())
    pending = list(session.scalars(select(Recording).where(
        Recording.source_id == source.id, Recording.status == RecordingStatus.PENDING_SOURCE)))
    user_templates = list(session.scalars(select(Template).where(Template.user_id == source.user_id)))
    by_id = {t.id: t for t in user_templates}
    for recording in pending:
        template = by_id.get(recording.template_id) if recording.template_id else None
        outcome = _pending_update(session, actor, recording, files.get(recording.source_file_id), template,
                                  settings, stable_required, now)
        if outcome == "promoted":
            summary.promoted.append(recording.partition_key)
        elif outcome == "skipped":
            summary.skipped.append(recording.partition_key)
    _register_new(session, actor, source, [f for file_id, f in files.items() if file_id not in known],
                  user_templates, stable_required, summary, now)
    _register_new(session, actor, source, _replaced(session, files, known), user_templates, stable_required,
                  summary, now, known)
    source.last_synced_at = now
    source.last_error = None
    return summary


def _register_new(
    session: Session, actor: Actor, source: Source, new_files: Sequence[SourceFile], user_templates: list[Template],
    stable_required: bool, summary: SyncSummary, now: datetime, replacing: Mapping[str, Taken] | None = None,
) -> None:
    """Each new file becomes a recording under the template it matches, until the user's quota refuses.

    With `replacing`, the files are new content under a file id already taken: each becomes the next
    revision, and the recording it replaces gets a `recording.source_changed` audit record naming both.
    """
    if not new_files:
        return
    user = session.get(User, source.user_id)
    assert user is not None
    for position, file in enumerate(new_files):
        incoming = replace(file, complete=False) if stable_required else file
        template = templates.choose(user_templates, templates.Candidate.of_file(source, file))
        previous = replacing.get(file.file_id) if replacing else None
        try:
            recording = recordings.register(session, actor, user, source, template, incoming, observed_at=now,
                                            revision=previous.revision + 1 if previous else 1)
        except QuotaExceededError:  # refused (and audited) before anything was written; the rest would be too
            summary.over_quota += len(new_files) - position
            return
        if recording is None:  # a concurrent webhook or sync registered it since `known` was read
            continue
        summary.registered.append(recording.partition_key)
        if previous is not None:
            summary.changed.append(recording.partition_key)
            audit.record(session, actor, "recording.source_changed", "recording", previous.recording_id,
                         user_id=source.user_id,
                         details={"file": file.name, "before": previous.fingerprint, "after": fingerprint(file),
                                  "revision": previous.revision + 1, "new_recording": recording.id,
                                  "new_partition_key": recording.partition_key})


def register_pushed(session: Session, actor: Actor, source: Source, files: Sequence[SourceFile]) -> SyncSummary:
    """Files a platform announced itself (Zoom's `recording.completed` webhook, parsed by
    `zoom_webhook.parse_recording_completed`) enter exactly as a sync would register them; a file the
    sync already registered, or will list later, is the same file id and is registered once, even when
    both register it at the same moment (`recordings.register` lets the unique key decide)."""
    summary = SyncSummary(source.id, source.name, listed=len(files))
    known = _known_file_ids(session, source.id, [f.file_id for f in files])
    user_templates = list(session.scalars(select(Template).where(Template.user_id == source.user_id)))
    _register_new(session, actor, source, [f for f in files if f.file_id not in known], user_templates, False,
                  summary, utcnow())
    return summary


def sync_sources(
    db: Database,
    actor: Actor,
    settings: Settings,
    source_ids: Collection[str],
    credentials: CredentialReader | None = None,
    budget_s: float | None = None,
) -> list[SyncSummary]:
    """Each source in its own unit of work, so one source's failure never undoes another's registrations.

    With `budget_s`, no new source is started once that much time has passed: the sensor's tick stays
    short however many sources are due, and the ones left over are listed first on the next tick.
    """
    summaries: list[SyncSummary] = []
    began = time.monotonic()
    folders: paths.FolderIndex | None = None  # built once, on the first local source of the tick
    for source_id in source_ids:
        if budget_s is not None and summaries and time.monotonic() - began >= budget_s:
            break
        try:
            with db.session() as session:
                source = session.get(Source, source_id)
                if source is None:
                    continue
                if source.kind == "local" and folders is None:
                    folders = local_folders(session)
                summaries.append(sync_source(session, actor, source, settings, credentials, folders=folders))
        except LeapError as exc:  # e.g. a concurrent sync moved the same recording first
            summaries.append(_failed(db, actor, source_id, str(exc)))
    return summaries


def _failed(db: Database, actor: Actor, source_id: str, message: str) -> SyncSummary:
    log.warning("sync of source %s failed: %s", source_id, message)
    with db.session() as session:
        source = session.get(Source, source_id)
        if source is not None:
            record_failure(session, actor, source, message)
        return SyncSummary(source_id, source.name if source else "", error=message)


def sync_interval(source: Source, settings: Settings) -> timedelta:
    """How often a source is listed: its own `sync_interval_s`, else the setting for its kind.

    A local folder is cheap to list and a person is waiting for the file they just dropped, so it is
    listed every LEAP_LOCAL_SYNC_INTERVAL_S (10 s); remote APIs every LEAP_SOURCE_SYNC_INTERVAL_S (60 s).
    """
    default = settings.local_sync_interval_s if source.kind == "local" else settings.source_sync_interval_s
    seconds = (source.config or {}).get("sync_interval_s") or default
    return timedelta(seconds=float(seconds))


def due(sources: Collection[Source], last_listed: Mapping[str, datetime], now: datetime,
        settings: Settings) -> list[Source]:
    """The enabled sources whose interval has passed since their last listing, longest waiting first
    (never listed: first of all), so a tick that runs out of budget starves nobody."""
    waiting = [
        s for s in sources
        if s.enabled and (s.id not in last_listed or now - last_listed[s.id] >= sync_interval(s, settings))
    ]
    return sorted(waiting, key=lambda s: last_listed.get(s.id, datetime.min.replace(tzinfo=now.tzinfo)))
