"""`UserAPI`: everything one user may do with their own rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from leap_core import accounting, audit, operations, recordings, retention, review, views
from leap_core.api import self_service
from leap_core.api.audited import audited_refusals
from leap_core.api.automation import AutomationAPI
from leap_core.api.credentials import CredentialsAPI
from leap_core.api.notifications import NotificationsAPI
from leap_core.api.sources import SourcesAPI
from leap_core.api.tasks import TasksAPI
from leap_core.api.templates import TemplatesAPI
from leap_core.audit import Actor, AuditQuery
from leap_core.config import default_quotas
from leap_core.db.models import OutputTarget, Recording, RunRequest, Source, Template, User
from leap_core.db.session import Database
from leap_core.errors import ValidationError
from leap_core.publishing import maintenance
from leap_core.quotas import effective_quotas_for
from leap_core.search import query as search_query
from leap_core.speech.corrections import read_corrections
from leap_core.speech.transcript import Transcript
from leap_core.states import IN_FLIGHT, RecordingStatus
from leap_core.stats import UserStats
from leap_core.storage import RecordingFiles, recording_files

if TYPE_CHECKING:
    from leap_core.api.leap import Leap


@audited_refusals("recording", add_local_source="source", sources="source", add_template="template",
                  templates="template", quotas="quota", usage="quota", stats="stats", activity="audit")
class UserAPI:
    """Everything one user may do with their own rows."""

    def __init__(self, leap: Leap, user: User, actor: Actor) -> None:
        self.leap = leap
        self.user = user
        self.actor = actor

    def _refusal_scope(self) -> tuple[Database, Actor, str | None]:
        return self.leap.db, self.actor, self.user_id

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def tasks(self) -> TasksAPI:
        return TasksAPI(self)

    @property
    def credentials(self) -> CredentialsAPI:
        return CredentialsAPI(self.leap, self.user_id, self.actor)

    @property
    def notifications(self) -> NotificationsAPI:
        return NotificationsAPI(self)

    @property
    def sources_api(self) -> SourcesAPI:
        return SourcesAPI(self)

    @property
    def templates_api(self) -> TemplatesAPI:
        return TemplatesAPI(self)

    @property
    def automation(self) -> AutomationAPI:
        return AutomationAPI(self)

    # sources and templates (shortcuts kept for existing callers) ----------------------------------
    def add_local_source(self, name: str, path: Path) -> dict[str, Any]:
        return self.sources_api.add_local(name, path)

    def sources(self) -> list[dict[str, Any]]:
        return self.sources_api.list()

    def add_template(self, name: str, *, targets: list[str], **fields: Any) -> dict[str, Any]:
        return self.templates_api.add(name, targets=targets, **fields)

    def templates(self) -> list[dict[str, Any]]:
        return self.templates_api.list()

    # recordings --------------------------------------------------------------------------------
    def recordings(self, status: RecordingStatus | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with self.leap.db.session() as session:
            stmt = select(Recording).where(Recording.user_id == self.user_id, Recording.deleted_at.is_(None))
            if status is not None:
                stmt = stmt.where(Recording.status == status)
            rows = list(session.scalars(stmt.order_by(Recording.created_at.desc()).limit(limit)))
            targets = self._targets_by_recording(session, [r.id for r in rows])
            return [views.recording(r, targets[r.id]) for r in rows]

    def recording(self, recording_id: str) -> dict[str, Any]:
        with self.leap.db.session() as session:
            (row,) = recordings.load_owned(session, self.user_id, [recording_id])
            return views.recording(row, self._targets_by_recording(session, [row.id])[row.id])

    def stages(self, recording_id: str) -> list[dict[str, Any]]:
        with self.leap.db.session() as session:
            recordings.load_owned(session, self.user_id, [recording_id])
            return [views.stage(s) for s in recordings.stages_of(session, [recording_id])]

    def retry(self, recording_ids: list[str]) -> list[dict[str, Any]]:
        with self.leap.db.session() as session:
            rows = recordings.load_owned(session, self.user_id, recording_ids)
            requests = recordings.retry(session, self.actor, rows)
            return [{"recording_id": r["recording_id"], "first_stage": r["first_stage"]} for r in requests]

    def reset(self, recording_id: str) -> dict[str, Any]:
        with self.leap.db.session() as session:
            (row,) = recordings.load_owned(session, self.user_id, [recording_id])
            active = session.scalar(select(RunRequest.id).where(
                RunRequest.recording_id == row.id, RunRequest.status.in_(("pending", "launched"))).limit(1))
            recordings.reset(session, self.actor, row, in_flight=row.status in IN_FLIGHT or active is not None)
            return views.recording(row)

    def select(
        self, *, status: RecordingStatus | None = None, source: str | None = None, template: str | None = None,
    ) -> list[str]:
        """Ids of my recordings matching the selectors (source/template by name or id), in one query."""
        with self.leap.db.session() as session:
            stmt = select(Recording.id).where(Recording.user_id == self.user_id, Recording.deleted_at.is_(None))
            if status is not None:
                stmt = stmt.where(Recording.status == status)
            if source is not None:
                stmt = stmt.join(Source, Source.id == Recording.source_id).where(
                    (Source.name == source) | (Source.id == source))
            if template is not None:
                stmt = stmt.join(Template, Template.id == Recording.template_id).where(
                    (Template.name == template) | (Template.id == template))
            return list(session.scalars(stmt.order_by(Recording.created_at)))

    def process(self, recording_ids: list[str], dry_run: bool = False) -> dict[str, Any]:
        """Request processing of INITIALIZED recordings (others are reported as not eligible, with their state)."""
        with self.leap.db.session() as session:
            rows = recordings.load_owned(session, self.user_id, recording_ids)
            return operations.process(session, self.actor, rows, dry_run).as_dict()

    def skip(self, recording_ids: list[str], reason: str = "user", dry_run: bool = False) -> dict[str, Any]:
        """INITIALIZED or PENDING_SOURCE → SKIPPED with the reason."""
        with self.leap.db.session() as session:
            rows = recordings.load_owned(session, self.user_id, recording_ids)
            return operations.skip(session, self.actor, rows, reason, dry_run).as_dict()

    def retry_failed_uploads(self, dry_run: bool = False) -> dict[str, Any]:
        """Every FAILED target of mine gets a run for that target only; published targets are untouched."""
        with self.leap.db.session() as session:
            return operations.retry_failed_uploads(session, self.actor, self.user_id, dry_run).as_dict()

    def republish(self, recording_ids: list[str]) -> list[dict[str, Any]]:
        """Update published videos' title, description, tags, chapters and captions; never uploads again."""
        with self.leap.db.session() as session:
            rows = recordings.load_owned(session, self.user_id, recording_ids)
        for row in rows:  # republishing reads the captions and chapters from the recording's files
            retention.ensure_not_archived(row)
        return [outcome for row in rows
                for outcome in maintenance.republish(self.leap.db, self.leap.settings, self.actor, row.id)]

    def review(self, recording_id: str) -> dict[str, Any]:
        """The review hold of one recording: held or not, why, and the cues its owner should read."""
        with self.leap.db.session() as session:
            (row,) = recordings.load_owned(session, self.user_id, [recording_id])
            template = session.get(Template, row.template_id) if row.template_id else None
            policy = review.ReviewPolicy.model_validate((template.review if template else None) or {})
            path = self._files(row).transcript
            transcript = Transcript.model_validate_json(path.read_text(encoding="utf-8")) if path.exists() else None
            return review.review_view(row, transcript, policy)

    def approve(self, recording_ids: list[str], dry_run: bool = False) -> dict[str, Any]:
        """Release held recordings: each gets a run that publishes it to its template's targets."""
        with self.leap.db.session() as session:
            rows = recordings.load_owned(session, self.user_id, recording_ids)
            return review.approve(session, self.actor, rows, dry_run).as_dict()

    def edit(self, recording_id: str, data: bytes, file_name: str) -> dict[str, Any]:
        """Replace the transcript with a corrected SRT, WebVTT or JSON file; chapters and subtitles are
        rebuilt from it by a run, the search index with them (a held recording stays held until approved)."""
        with self.leap.db.session() as session:
            (row,) = recordings.load_owned(session, self.user_id, [recording_id])
            review.ensure_editable(session, row)
            files = self._files(row)
            if not files.transcript.exists():
                raise ValidationError(f"recording {row.id} has no transcript to edit")
            duration = Transcript.model_validate_json(files.transcript.read_text(encoding="utf-8")).duration
            segments = read_corrections(data, file_name, duration)
            return review.edit(session, self.actor, row, files, segments, file_name)

    def _files(self, row: Recording) -> RecordingFiles:
        return recording_files(self.leap.settings.resolved_storage_dir, self.user.slug, row.id, row.extension)

    def delete(
        self, recording_id: str, dry_run: bool = False, unpublish: bool = False, force: bool = False
    ) -> dict[str, Any]:
        """Remove the files and the partition; keep the row (as deleted) with its stages and audit.

        Published videos stay on their platforms unless `unpublish`; each platform's result is reported.
        If a take-down fails the recording is kept (refused, with the reason on its target) so the
        video is never orphaned: calling again retries the failed take-downs only; `force` deletes anyway.
        """
        unpublished: list[dict[str, Any]] = []
        if unpublish and not dry_run:
            with self.leap.db.session() as session:  # refuse before any platform call
                operations.ensure_deletable(session, *recordings.load_owned(session, self.user_id, [recording_id]))
            unpublished = maintenance.unpublish(self.leap.db, self.leap.settings, self.actor, recording_id)
        left = [u for u in unpublished if u["result"] == "failure"]
        with self.leap.db.session() as session:
            (row,) = recordings.load_owned(session, self.user_id, [recording_id])
            if left and not force:
                return {**operations.keep_for_takedown(session, self.actor, row, left).as_dict(),
                        "unpublished": unpublished}
            disk = accounting.recording_disk(self.leap.settings, self.user.slug, row)
            report = operations.delete(session, self.actor, row, disk, dry_run, left_on_platforms=left)
        if not dry_run:
            disk.remove()
        return {**report.as_dict(), "unpublished": unpublished}

    def archive(self, ids: list[str]) -> dict[str, Any]:
        """Archive published recordings now (as retention would): files and partition go, outputs stay."""
        storage = self.leap.settings.resolved_storage_dir
        with self.leap.db.session() as session:
            rows = recordings.load_owned(session, self.user_id, ids)
            report, folders = retention.archive(session, self.actor, rows, storage, reason="requested")
        for folder in folders:
            folder.remove()
        return report.as_dict()

    def restore(self, ids: list[str]) -> dict[str, Any]:
        """Bring archived recordings back: the partition is re-added and the text outputs rewritten."""
        with self.leap.db.session() as session:
            rows = recordings.load_owned(session, self.user_id, ids)
            report = retention.restore(session, self.actor, rows, self.leap.settings.resolved_storage_dir)
        return {"restored": report.archived, "not_eligible": report.not_eligible}

    def search(self, query: str, limit: int = 20) -> list[dict[str, Any]]:
        """My recordings whose transcripts match `query`, with the matching moments (cue text, time,
        chapter, deep links to the published videos), best first; `limit` counts moments (README "Search").

        A query that cannot be searched (no words, only stop words, too long) is a ValidationError,
        audited with its reason (never its text, which may be anything the user typed).
        """
        try:
            with self.leap.db.session() as session:
                return search_query.search(session, self.user_id, query, limit)
        except ValidationError as exc:
            with self.leap.db.session() as session:
                audit.record(session, self.actor, "search.reject", "user", self.user_id, user_id=self.user_id,
                             details={"reason": str(exc), "query_chars": len(query)}, result="failure")
            raise

    def quotas(self) -> dict[str, Any]:
        with self.leap.db.session() as session:
            return effective_quotas_for(session, [self.user_id], default_quotas())[self.user_id].as_dict()

    def usage(self, period: str | None = None) -> dict[str, Any]:
        """This month's (or `period` YYYYMM's) usage beside the limits it counts against."""
        return self_service.usage_report(self.leap.db, self.user_id, period)

    def stats(self, since: datetime | None = None, until: datetime | None = None) -> UserStats:
        """Own recordings totals, by status and by template, as DataFrames (recorded_at in [since, until))."""
        return self_service.user_stats(self.leap.db, self.user_id, since, until)

    def activity(self, action: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
        q = AuditQuery(user_id=self.user_id, action=action, since=since, until=until, limit=limit)
        with self.leap.db.session() as session:
            return [audit.as_dict(e) for e in audit.query(session, q)]

    @staticmethod
    def _targets_by_recording(session: Any, ids: list[str]) -> dict[str, list[OutputTarget]]:
        grouped: dict[str, list[OutputTarget]] = defaultdict(list)
        for target in session.scalars(select(OutputTarget).where(OutputTarget.recording_id.in_(ids))):
            grouped[target.recording_id].append(target)
        return grouped
